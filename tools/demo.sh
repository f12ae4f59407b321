#!/bin/sh
# `make demo`: run blockwatch for a few seconds against the bundled demo
# service (tests/workloads/demo.c) and show what it reports.
set -eu
out=${1:-build}
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: blockwatch loads BPF programs: run as root (sudo make demo)" >&2
	exit 1
fi
"$out/tests/demo" 12 &
demo=$!
trap 'kill $demo 2>/dev/null || true' EXIT INT TERM
sleep 0.5
echo "demo: service running as PID $demo; blockwatch -p $demo -i 4s -d 8s"
echo
"$out/blockwatch" -p "$demo" -i 4s -d 8s
echo "demo: now the same as JSON (-f json), one line per report, first 600 bytes:"
"$out/blockwatch" -p "$demo" -d 2s -f json | cut -c1-600
echo
echo "demo: and what is blocked right now, in one snapshot (--now), 4 frames each:"
"$out/blockwatch" --now -p "$demo" --frames 4
