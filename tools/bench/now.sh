#!/bin/bash
# `make bench`, --now: how long `blockwatch --now -p PID -f json` takes, and
# its peak resident set, on a process with 1,000 and with 10,000 threads
# blocked in nanosleep (tests/workloads/scale.c idle), the whole command
# measured: loading the iterator, one pass, unwinding and symbolizing every
# thread, writing the report. eu-stack on the same process is the anchor,
# run alternately with blockwatch (the other engineers' load hits both); it
# ptrace-stops every thread to do the same. At 10,000 threads eu-stack is run
# once (it takes seconds). Like for like, twice: with source lines and
# inlined calls on both sides (blockwatch's default; eu-stack -i -s), and
# with function names only (--no-lines; eu-stack's default). Lines are
# measured with blockwatch's debug cache warm (the goal's row: what every
# run after a host's first gets) and cold (an empty cache each run).
# Goals: 10,000 threads under 0.5 s and 60 MB; 1,000 threads at most 0.15x
# the time of eu-stack.
#
# env: BLOCKWATCH (build/blockwatch), SCALE (build/tests/scale),
#      SIZES ("1000 10000"), RUNS (7), BENCH_NOW_TABLE (build/bench/now.md)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BLOCKWATCH=${BLOCKWATCH:-$ROOT/build/blockwatch}
SCALE=${SCALE:-$ROOT/build/tests/scale}
SIZES=${SIZES:-1000 10000}
RUNS=${RUNS:-7}
OUT=${BENCH_NOW_TABLE:-$ROOT/build/bench/now.md}

die() { echo "bench-now: error: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root"
[[ -x $BLOCKWATCH && -x $SCALE ]] || die "build first: make all build/tests/scale"
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
EU=$(command -v eu-stack || true)

TMP=$(mktemp -d)
WL=
stop_wl() {
    if [[ -n $WL ]]; then
        kill "$WL" 2>/dev/null || true
        wait "$WL" 2>/dev/null || true
    fi
    WL=
}
cleanup() { stop_wl; rm -rf "$TMP"; }
trap cleanup EXIT

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'; }
median() { sort -n | awk '{ x[NR] = $1 } END { printf "%.1f %.1f %.1f\n", (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2, x[1], x[NR] }'; }

# timed FILE_MS FILE_KB CMD...: wall time in ms and peak RSS in KB, appended
timed() {
    local fms=$1 fkb=$2 t0 t1
    shift 2
    t0=$EPOCHREALTIME
    /usr/bin/time -f %M -o "$TMP/kb" "$@" >"$TMP/cmd.out" 2>"$TMP/cmd.err" || true
    t1=$EPOCHREALTIME
    ms "$t0" "$t1" >>"$fms"
    cat "$TMP/kb" >>"$fkb"
}

mkdir -p "$(dirname "$OUT")"
{
    echo "| threads blocked in nanosleep | frames | \`blockwatch --now -p PID -f json\`: wall, median (min–max) | its peak RSS | \`eu-stack -p PID\`: wall | blockwatch / eu-stack | entries |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
} >"$TMP/table"
: >"$TMP/goals"

for n in $SIZES; do
    mkfifo "$TMP/in.$n"
    "$SCALE" idle "$n" 3600 <"$TMP/in.$n" >"$TMP/wl.$n" 2>&1 &
    WL=$!
    exec 3>"$TMP/in.$n"
    for _ in $(seq 600); do grep -q '^ready' "$TMP/wl.$n" && break; sleep 0.1; done
    grep -q '^ready' "$TMP/wl.$n" || die "workload not ready: $(cat "$TMP/wl.$n")"
    echo go >&3
    # every thread asleep past the threshold (100 ms)
    for _ in $(seq 600); do
        asleep=$(grep -l '^State:.*S (sleeping)' /proc/"$WL"/task/*/status 2>/dev/null | wc -l)
        [[ $asleep -gt $n ]] && break
        sleep 0.1
    done
    sleep 0.5
    # like for like: functions, source lines and inlined calls on both
    # sides (eu-stack -i -s), then function names only (--no-lines;
    # eu-stack's default)
    # Lines twice: with blockwatch's debug cache warm (libc6-dbg's DWARF
    # inflated on disk by an earlier run, as on any host after the first
    # run: the goal's row) and cold (an empty cache each run: the copy
    # is made, so the DWARF is inflated and written)
    "$BLOCKWATCH" --now -p "$WL" -f json -o "$TMP/now.json" --debug-cache "$TMP/dcache" ||
        die "blockwatch --now failed"
    for detail in lines cold names; do
    if [[ $detail == lines ]]; then bwx=(--debug-cache "$TMP/dcache"); eux=(-i -s); what="functions, inlined calls, lines (eu-stack -i -s)"
    elif [[ $detail == cold ]]; then eux=(-i -s); what="the same, debug cache cold (made in the run)"
    else bwx=(--no-lines); eux=(); what="functions only (--no-lines; eu-stack)"; fi
    : >"$TMP/bw.ms"; : >"$TMP/bw.kb"; : >"$TMP/eu.ms"; : >"$TMP/eu.kb"
    eu_runs=$RUNS
    (( n > 1000 )) && eu_runs=1
    for ((r = 1; r <= RUNS; r++)); do
        [[ $detail == cold ]] && bwx=(--debug-cache "$TMP/dcache.$n.$r")
        timed "$TMP/bw.ms" "$TMP/bw.kb" "$BLOCKWATCH" --now -p "$WL" -f json -o "$TMP/now.json" "${bwx[@]}"
        if [[ -n $EU ]] && (( r <= eu_runs )); then
            timed "$TMP/eu.ms" "$TMP/eu.kb" "$EU" -p "$WL" "${eux[@]}"
            # eu-stack's ptrace stop ended every sleep: each thread sleeps
            # anew, and is not blocked past the threshold (100 ms) again
            # before then (at 1,000 threads, 895 entries of 1,000 without)
            sleep 0.3
        fi
    done
    entries=$(python3 -c 'import json,sys; r = json.loads(open(sys.argv[1]).readline()); print(sum(len(p["threads"]) for p in r["processes"]))' "$TMP/now.json")
    read -r bmed bmin bmax < <(median <"$TMP/bw.ms")
    bkb=$(sort -n "$TMP/bw.kb" | tail -1)
    emed=- ratio=-
    if [[ -s $TMP/eu.ms ]]; then
        read -r emed emin emax < <(median <"$TMP/eu.ms")
        ratio=$(awk -v b="$bmed" -v e="$emed" 'BEGIN { printf "%.2fx", b / e }')
        emed="$emed ms ($emin–$emax), $(wc -l <"$TMP/eu.ms") runs"
    fi
    echo "| $n | $what | $bmed ms ($bmin–$bmax), $RUNS runs | $(awk -v k="$bkb" 'BEGIN { printf "%.1f MB", k / 1024 }') | $emed | $ratio | $entries |" >>"$TMP/table"
    if (( n == 10000 )) && [[ $detail != cold ]]; then
        echo "- goal: 10,000 threads under 500 ms and 60 MB ($detail): $(awk -v m="$bmed" -v k="$bkb" 'BEGIN { print (m < 500 && k < 60 * 1024) ? "met" : "MISSED" }')" >>"$TMP/goals"
    fi
    if (( n == 1000 )) && [[ $ratio != - && $detail != cold ]]; then
        echo "- goal: 1,000 threads at most 0.15x eu-stack ($detail, like for like): $(awk -v r="${ratio%x}" 'BEGIN { print (r <= 0.15) ? "met" : "MISSED" }')" >>"$TMP/goals"
    fi
    done
    exec 3>&-
    stop_wl
done

{
    cat "$TMP/table"
    echo
    cat "$TMP/goals"
    echo "- RSS: the peak (GNU time's maximum resident set); the target process is never stopped by blockwatch"
    echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs"
} >"$OUT"
echo
cat "$OUT"
