#!/bin/sh
# Install the Debian 12 packages blockwatch builds, tests and benchmarks
# with. Idempotent: apt-get runs only when something is missing.
set -eu
PKGS="make clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev
libjson-c-dev uthash-dev libcmocka-dev linux-libc-dev pkg-config gcc g++
libncurses-dev tmux
python3 elfutils libc6-dbg linux-perf libbpf-tools util-linux procps
golang-go libcapstone-dev gdb delve libclang-rt-14-dev python3-jsonschema
groff-base man-db libmicrohttpd-dev libsystemd-dev prometheus systemd-container
protobuf-c-compiler libprotobuf-c-dev chromium time
postgresql postgresql-contrib"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
