#!/bin/bash
# `make bench`, part 4: what the whole-run formats cost. `blockwatch --now`
# on a process with 1,000 blocked threads (1,000 samples, one stack) with
# JSON alone, then with folded, pprof and svg written too, the two runs
# alternating so that the machine's other load hits both; the whole
# command timed, and the files' sizes.
#
# env: BLOCKWATCH (build/blockwatch), BLOCKERS (build/tests/blockers),
#      THREADS (1000), RUNS (11), BENCH_PROFILES_TABLE (build/bench/profiles.md)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BLOCKWATCH=${BLOCKWATCH:-$ROOT/build/blockwatch}
BLOCKERS=${BLOCKERS:-$ROOT/build/tests/blockers}
THREADS=${THREADS:-1000}
RUNS=${RUNS:-11}
OUT=${BENCH_PROFILES_TABLE:-$ROOT/build/bench/profiles.md}

die() { echo "bench-profiles: error: $*" >&2; exit 1; }
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
for _ in $(seq 100); do
    n=$(grep -l '^State:.*S (sleeping)' /proc/"$WL"/task/*/status 2>/dev/null | wc -l)
    [[ $n -gt $THREADS ]] && break
    sleep 0.1
done
sleep 0.5

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'; }
median() { sort -n | awk '{ x[NR] = $1 } END { printf "%.1f %.1f %.1f\n", (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2, x[1], x[NR] }'; }

: >"$TMP/base"
: >"$TMP/all"
for _ in $(seq "$RUNS"); do
    t0=$EPOCHREALTIME
    "$BLOCKWATCH" --now -p "$WL" -f json:"$TMP/a.json"
    t1=$EPOCHREALTIME
    "$BLOCKWATCH" --now -p "$WL" -f json:"$TMP/b.json" -f folded:"$TMP/b.folded" \
        -f pprof:"$TMP/b.pb.gz" -f svg:"$TMP/b.svg"
    t2=$EPOCHREALTIME
    ms "$t0" "$t1" >>"$TMP/base"
    ms "$t1" "$t2" >>"$TMP/all"
done
read -r amed amin amax < <(median <"$TMP/base")
read -r bmed bmin bmax < <(median <"$TMP/all")
samples=$(grep -c . "$TMP/b.folded" || true)
size() { stat -c %s "$1"; }

mkdir -p "$(dirname "$OUT")"
{
    echo "| \`blockwatch --now -p PID\`, $THREADS threads blocked in nanosleep | wall time, median (min–max), $RUNS runs each, alternating |"
    echo "| --- | --- |"
    echo "| \`-f json\` | $amed ms ($amin–$amax) |"
    echo "| \`-f json -f folded -f pprof -f svg\` | $bmed ms ($bmin–$bmax) |"
    echo
    echo "- files: json $(size "$TMP/b.json") B, folded $(size "$TMP/b.folded") B ($samples lines: one stack), pprof $(size "$TMP/b.pb.gz") B, svg $(size "$TMP/b.svg") B"
    echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs"
} >"$OUT"
echo
cat "$OUT"
