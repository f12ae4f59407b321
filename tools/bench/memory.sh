#!/bin/bash
# `make bench`, memory: blockwatch's resident set, system-wide at its default
# settings (-t 100ms -i 5s, JSON to /dev/null), beside offcputime (libbpf-tools,
# its defaults) traced through the same run at the same time:
#   1. churn: CHURN_RATE short-lived tasks a second (half processes, half
#      threads), each blocking 150 ms once, for CHURN_SECS;
#   2. a process with BIG_THREADS threads blocked in nanosleep for BIG_SECS,
#      which then exits; RECOVER_SECS more to see the memory come back.
# Goals: under 20 MB steady with churn, back under it within a minute after
# the big process exits. RSS is VmRSS from /proc/PID/status, once a second.
#
# env: BLOCKWATCH, SCALE (build/tests/scale), CHURN_RATE (300), CHURN_SECS (60),
#      BIG_THREADS (10000), BIG_SECS (20), RECOVER_SECS (60),
#      BENCH_MEMORY_TABLE (build/bench/memory.md), OFFCPUTIME
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BLOCKWATCH=${BLOCKWATCH:-$ROOT/build/blockwatch}
SCALE=${SCALE:-$ROOT/build/tests/scale}
CHURN_RATE=${CHURN_RATE:-300}
CHURN_SECS=${CHURN_SECS:-60}
BIG_THREADS=${BIG_THREADS:-10000}
BIG_SECS=${BIG_SECS:-20}
RECOVER_SECS=${RECOVER_SECS:-60}
OUT=${BENCH_MEMORY_TABLE:-$ROOT/build/bench/memory.md}
OFFCPUTIME=${OFFCPUTIME:-$(command -v offcputime || echo /usr/sbin/offcputime)}
GOAL_KB=$((20 * 1024))

die() { echo "bench-memory: error: $*" >&2; exit 1; }
note() { echo "bench-memory: $*" >&2; }
[[ $(id -u) -eq 0 ]] || die "run as root"
[[ -x $BLOCKWATCH && -x $SCALE ]] || die "build first: make all build/tests/scale"
[[ -x $OFFCPUTIME ]] || OFFCPUTIME=''

TMP=$(mktemp -d)
PIDS=()
WL=
cleanup() {
    local p
    for p in "${PIDS[@]}" ${WL:+"$WL"}; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}" ${WL:+"$WL"}; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

rss() { awk '/^VmRSS:/ { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }

set -m
"$BLOCKWATCH" -f json -o /dev/null </dev/null >"$TMP/bw.out" 2>"$TMP/bw.err" &
BW=$!
PIDS+=("$BW")
OFF=
if [[ -n $OFFCPUTIME ]]; then
    "$OFFCPUTIME" </dev/null >/dev/null 2>"$TMP/off.err" &
    OFF=$!
    PIDS+=("$OFF")
fi
set +m
for _ in $(seq 600); do grep -q '^blockwatch: tracing' "$TMP/bw.err" && break; sleep 0.1; done
grep -q '^blockwatch: tracing' "$TMP/bw.err" || die "blockwatch did not start: $(cat "$TMP/bw.err")"
sleep 2

T0=$EPOCHREALTIME
now() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
# phase t bw_kb off_kb, once a second, until the file "stop" appears
sampler() {
    while [[ ! -e $TMP/stop ]]; do
        echo "$(cat "$TMP/phase") $(now) $(rss "$BW") $([[ -n $OFF ]] && rss "$OFF" || echo 0)"
        sleep 1
    done >"$TMP/samples"
}
echo idle >"$TMP/phase"
sampler &
SAMPLER=$!

# run_wl PHASE ARGS...: start the workload, "go", wait for "done" and its exit
run_wl() {
    local phase=$1
    shift
    mkfifo "$TMP/in.$phase"
    "$SCALE" "$@" <"$TMP/in.$phase" >"$TMP/wl.$phase" 2>&1 &
    WL=$!
    exec 3>"$TMP/in.$phase"
    for _ in $(seq 600); do grep -q '^ready' "$TMP/wl.$phase" && break; sleep 0.1; done
    grep -q '^ready' "$TMP/wl.$phase" || die "workload $* not ready: $(cat "$TMP/wl.$phase")"
    echo "$phase" >"$TMP/phase"
    echo go >&3
    wait "$WL" || die "workload $* failed: $(cat "$TMP/wl.$phase")"
    exec 3>&-
}

note "churn: $CHURN_RATE tasks/s for $CHURN_SECS s"
run_wl churn churn "$CHURN_RATE" "$CHURN_SECS" 150
echo settle >"$TMP/phase"
sleep 6
note "a process with $BIG_THREADS blocked threads for $BIG_SECS s, then it exits"
run_wl big idle "$BIG_THREADS" "$BIG_SECS"
echo after >"$TMP/phase"
EXIT_AT=$(now)
sleep "$RECOVER_SECS"
touch "$TMP/stop"
wait "$SAMPLER" || true

alive() { [[ -d /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status"; }
alive "$BW" || die "blockwatch died: $(tail -5 "$TMP/bw.err")"

# stat PHASE COLUMN FILTER -> "median max" in MB (FILTER: awk condition on $2, the time)
stat() {
    awk -v ph="$1" -v col="$2" "\$1 == ph && ($3) { print \$col }" "$TMP/samples" | sort -n |
        awk '{ x[NR] = $1 } END { if (!NR) { print "- -"; exit }
             printf "%.1f %.1f\n", x[int((NR + 1) / 2)] / 1024, x[NR] / 1024 }'
}
half=$(awk -v s="$CHURN_SECS" 'BEGIN { print s / 2 }')
churn_start=$(awk '$1 == "churn" { print $2; exit }' "$TMP/samples")
read -r bw_churn_med bw_churn_max < <(stat churn 3 "\$2 >= $churn_start + $half")
read -r off_churn_med off_churn_max < <(stat churn 4 "\$2 >= $churn_start + $half")
read -r _ bw_big_max < <(stat big 3 1)
read -r _ off_big_max < <(stat big 4 1)
bw_last=$(awk '$1 == "after" { v = $3 } END { printf "%.1f", v / 1024 }' "$TMP/samples")
off_last=$(awk '$1 == "after" { v = $4 } END { printf "%.1f", v / 1024 }' "$TMP/samples")
# seconds after the exit until blockwatch stays under the goal
# ("-": it never did while we looked)
back=$(awk -v e="$EXIT_AT" -v g="$GOAL_KB" '$1 == "after" { if ($3 >= g) last = $2; final = $3; seen = 1 }
       END { if (!seen || final >= g) print "-"; else if (last == "") print 0; else printf "%.0f", last - e + 1 }' "$TMP/samples")
mkdir -p "$(dirname "$OUT")"
cp "$TMP/samples" "${OUT%.md}.samples"
{
    echo "| RSS, system-wide, default settings | blockwatch | offcputime (same run) |"
    echo "| --- | --- | --- |"
    echo "| churn, $CHURN_RATE tasks/s, second half: median (max) | $bw_churn_med MB ($bw_churn_max) | ${OFF:+$off_churn_med MB ($off_churn_max)} |"
    echo "| a process with $BIG_THREADS blocked threads: max | $bw_big_max MB | ${OFF:+$off_big_max MB} |"
    echo "| ${RECOVER_SECS} s after it exited | $bw_last MB | ${OFF:+$off_last MB} |"
    echo
    g1=$(awk -v m="$bw_churn_max" 'BEGIN { print (m < 20) ? "met" : "MISSED" }')
    g2=$(awk -v b="$back" 'BEGIN { print (b != "-" && b <= 60) ? "met" : "MISSED" }')
    echo "- goal: under 20 MB steady with churn: $g1; back under 20 MB within 60 s of the exit: $g2 (after $back s)"
    echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs"
} >"$OUT"
echo
cat "$OUT"
