#!/bin/bash
# `make bench`, part 3: the goroutine view of a Go process with 23,000
# goroutines parked sending on one full channel (the incident's size),
# beside the runtime's own ways to see them and the debuggers:
#   blockwatch --now -p PID -f json   the whole command: wall time, its
#                                     RSS, and the snapshot alone (read,
#                                     unwind, symbolize, group: read_ns)
#   pprof goroutine debug=1           what ?debug=1 serves, run in the
#   pprof goroutine debug=2           process (the fixture's own code)
#   gdb -p PID -batch                 ptrace-attach, list threads, detach
#   dlv attach PID, goroutines        the Go debugger
# and for each, the longest a 1 ms ticker goroutine in the target was
# late while it ran: how long the target was stalled.
#
# env: BLOCKWATCH (build/blockwatch), GO_FIXTURE
#      (build/tests/go/default/goroutines), GOROUTINES (23000), RUNS (7),
#      BENCH_GO_TABLE (build/bench/go.md)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BLOCKWATCH=${BLOCKWATCH:-$ROOT/build/blockwatch}
FIXTURE=${GO_FIXTURE:-$ROOT/build/tests/go/default/goroutines}
N=${GOROUTINES:-23000}
RUNS=${RUNS:-7}
OUT=${BENCH_GO_TABLE:-$ROOT/build/bench/go.md}

die() { echo "bench-go: error: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root"
[[ -x $BLOCKWATCH && -x $FIXTURE ]] || die "build first: make all $FIXTURE"

TMP=$(mktemp -d)
WL=
cleanup() {
    exec 3>&- 2>/dev/null || true
    if [[ -n $WL ]]; then
        kill "$WL" 2>/dev/null || true
        wait "$WL" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
mkfifo "$TMP/in"
"$FIXTURE" -send "$N" -cap 100 -recv 3 -select 12 -mutex 5 -io 1 -ticker \
    <"$TMP/in" >"$TMP/wl.out" 2>&1 &
WL=$!
exec 3>"$TMP/in"
for _ in $(seq 300); do grep -q '^ready' "$TMP/wl.out" && break; sleep 0.1; done
grep -q '^ready' "$TMP/wl.out" || die "fixture not ready: $(cat "$TMP/wl.out")"
PID=$WL

# ask the fixture; its answer is the next line of its output
LINES=1
ask() {
    echo "$1" >&3
    local want=$((LINES + 1))
    for _ in $(seq 600); do
        [[ $(wc -l <"$TMP/wl.out") -ge $want ]] && break
        sleep 0.01
    done
    LINES=$want
    sed -n "${want}p" "$TMP/wl.out" | awk '{print $2}'
}
ask gap >/dev/null
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
maxof() { sort -n | tail -1; }
ms() { awk -v n="$1" 'BEGIN{printf "%.1f ms", n / 1e6}'; }

: >"$TMP/bw_wall"; : >"$TMP/bw_read"; : >"$TMP/bw_rss"; : >"$TMP/bw_gap"
for _ in $(seq "$RUNS"); do
    ask gap >/dev/null
    /usr/bin/time -f "%e %M" -o "$TMP/time" "$BLOCKWATCH" --now -p "$PID" -f json -o "$TMP/now.json"
    ask gap >>"$TMP/bw_gap"
    read -r wall rss <"$TMP/time"
    awk -v w="$wall" 'BEGIN{printf "%d\n", w * 1e9}' >>"$TMP/bw_wall"
    echo "$rss" >>"$TMP/bw_rss"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print([p["go"] for p in r["processes"] if "go" in p][0]["read_ns"])' "$TMP/now.json" >>"$TMP/bw_read"
done
COUNT=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); g=[p["go"] for p in r["processes"] if "go" in p][0]; print(g["goroutines"], g["groups"][0]["count"], g["groups"][0]["wait_reason"])' "$TMP/now.json")

: >"$TMP/p1"; : >"$TMP/p1_gap"; : >"$TMP/p2"; : >"$TMP/p2_gap"
for _ in $(seq "$RUNS"); do
    ask gap >/dev/null
    ask "profile1 $TMP/p1.txt" >>"$TMP/p1"
    ask gap >>"$TMP/p1_gap"
done
for _ in 1 2 3; do
    ask gap >/dev/null
    ask "dump $TMP/p2.txt" >>"$TMP/p2"
    ask gap >>"$TMP/p2_gap"
done

: >"$TMP/gdb"; : >"$TMP/gdb_gap"
if command -v gdb >/dev/null; then
    for _ in 1 2 3; do
        ask gap >/dev/null
        s=$(date +%s%N)
        gdb -p "$PID" -batch -ex 'info threads' >/dev/null 2>&1 || true
        echo $(($(date +%s%N) - s)) >>"$TMP/gdb"
        ask gap >>"$TMP/gdb_gap"
    done
fi
: >"$TMP/dlv"; : >"$TMP/dlv_gap"
if command -v dlv >/dev/null; then
    ask gap >/dev/null
    s=$(date +%s%N)
    printf 'goroutines\nquit\nn\n' | timeout 120 dlv attach "$PID" \
        --allow-non-terminal-interactive >"$TMP/dlv.out" 2>&1 || true
    echo $(($(date +%s%N) - s)) >>"$TMP/dlv"
    ask gap >>"$TMP/dlv_gap"
fi

row() { # name, times file, gaps file, note
    local t g
    [[ -s $2 ]] || { echo "| $1 | not installed | | |"; return; }
    t=$(median <"$2"); g=$(maxof <"$3")
    echo "| $1 | $(ms "$t") | $(ms "$g") | $4 |"
}
{
    echo "| reading $N parked goroutines ($COUNT) | time, median | target stalled, worst | how |"
    echo "| --- | --- | --- | --- |"
    echo "| blockwatch snapshot (read, unwind, symbolize, group) | $(ms "$(median <"$TMP/bw_read")") | $(ms "$(maxof <"$TMP/bw_gap")") | from outside, process_vm_readv; RSS $(($(maxof <"$TMP/bw_rss") / 1024)) MB; the whole \`--now\` command $(ms "$(median <"$TMP/bw_wall")") |"
    row "pprof goroutine ?debug=1 (in the process)" "$TMP/p1" "$TMP/p1_gap" "needs the code to serve it; stops the world"
    row "pprof goroutine ?debug=2 (in the process)" "$TMP/p2" "$TMP/p2_gap" "stops the world for the whole dump"
    row "gdb -p PID -batch -ex 'info threads'" "$TMP/gdb" "$TMP/gdb_gap" "ptrace-stops every thread"
    row "dlv attach PID, goroutines" "$TMP/dlv" "$TMP/dlv_gap" "ptrace-stops every thread"
    echo
    echo "- $RUNS runs each (debug=2 and gdb 3, dlv 1); stall = the longest a 1 ms ticker in the target came back late while the tool ran (baseline jitter: a few ms)"
    echo "- goal: snapshot of 23,000 goroutines at most 100 ms, RSS under 40 MB: $(awk -v r="$(median <"$TMP/bw_read")" -v m="$(maxof <"$TMP/bw_rss")" 'BEGIN{print (r <= 100e6 && m < 40*1024) ? "met" : "MISSED"}')"
    echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs, $(go version 2>/dev/null | awk '{print $3}')"
} | tee "$OUT"
