#!/bin/bash
# `make bench`, part 2: how long `blockwatch --now` takes on a process with
# 1,000 blocked threads (goal: under 200 ms), the whole command measured:
# loading the iterator, one pass, unwinding and symbolizing every thread,
# writing the report. eu-stack on the same process is timed beside it for
# reference; it ptrace-stops every thread to do the same.
#
# env: BLOCKWATCH (build/blockwatch), BLOCKERS (build/tests/blockers),
#      THREADS (1000), RUNS (11), BENCH_NOW_TABLE (build/bench/now.md)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BLOCKWATCH=${BLOCKWATCH:-$ROOT/build/blockwatch}
BLOCKERS=${BLOCKERS:-$ROOT/build/tests/blockers}
THREADS=${THREADS:-1000}
RUNS=${RUNS:-11}
OUT=${BENCH_NOW_TABLE:-$ROOT/build/bench/now.md}

die() { echo "bench-now: error: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root"
[[ -x $BLOCKWATCH && -x $BLOCKERS ]] || die "build first: make all build/tests/blockers"

TMP=$(mktemp -d)
WL=
cleanup() {
    if [[ -n $WL ]]; then
        kill "$WL" 2>/dev/null || true
        wait "$WL" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
mkfifo "$TMP/in"
"$BLOCKERS" many "$THREADS" 600000 1 <"$TMP/in" >"$TMP/wl.out" 2>&1 &
WL=$!
exec 3>"$TMP/in"
for _ in $(seq 100); do grep -q '^ready' "$TMP/wl.out" && break; sleep 0.1; done
grep -q '^ready' "$TMP/wl.out" || die "workload not ready: $(cat "$TMP/wl.out")"
echo go >&3
# wait until every worker sleeps
for _ in $(seq 100); do
    n=$(grep -l '^State:.*S (sleeping)' /proc/"$WL"/task/*/status 2>/dev/null | wc -l)
    [[ $n -gt $THREADS ]] && break
    sleep 0.1
done
sleep 0.5

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'; }
median() { sort -n | awk '{ x[NR] = $1 } END { printf "%.1f %.1f %.1f\n", (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2, x[1], x[NR] }'; }

: >"$TMP/bw"
for _ in $(seq "$RUNS"); do
    t0=$EPOCHREALTIME
    "$BLOCKWATCH" --now -p "$WL" -f json >"$TMP/now.json"
    t1=$EPOCHREALTIME
    ms "$t0" "$t1" >>"$TMP/bw"
done
entries=$(grep -o '"tid":' "$TMP/now.json" | wc -l)
read -r bmed bmin bmax < <(median <"$TMP/bw")

eu=""
if command -v eu-stack >/dev/null; then
    : >"$TMP/eu"
    for _ in 1 2 3; do
        t0=$EPOCHREALTIME
        eu-stack -p "$WL" >/dev/null 2>&1 || true
        t1=$EPOCHREALTIME
        ms "$t0" "$t1" >>"$TMP/eu"
    done
    read -r emed emin emax < <(median <"$TMP/eu")
    eu="| \`eu-stack -p PID\` (ptrace-stops every thread) | $emed ms ($emin–$emax), 3 runs | all threads, frozen while it runs |"
fi

mkdir -p "$(dirname "$OUT")"
{
    echo "| command, process with $THREADS threads blocked in nanosleep | wall time, median (min–max) | result |"
    echo "| --- | --- | --- |"
    echo "| \`blockwatch --now -p PID -f json\` | $bmed ms ($bmin–$bmax), $RUNS runs | $entries still-blocked entries, target never stopped |"
    [[ -n $eu ]] && echo "$eu"
    echo
    echo "- goal: --now under 200 ms: $(awk -v m="$bmed" 'BEGIN { print (m < 200) ? "met" : "MISSED" }')"
    echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs"
} >"$OUT"
echo
cat "$OUT"
