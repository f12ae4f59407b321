#!/bin/bash
# `make bench`, scaling: blockwatch's CPU (its own process: user + system, per
# second of wall time) and resident set, system-wide at its default settings
# (-t 100ms -i 5s, JSON reports to a file), against
#   blocks/s past the threshold: 100, 1k, 10k (tests/workloads/scale.c rate:
#     RATE/5 threads each blocking 200 ms at a time, staggered), and
#   threads blocked: 100, 1k, 10k, 50k (scale idle: each in one long sleep,
#     all of them in every report's still-blocked scan).
# offcputime (libbpf-tools, its defaults) traces the same load at the same
# time as the anchor. Neither number includes the BPF programs' cost, which
# is paid by the traced threads (tools/bench/bench.sh measures that).
# For 50k threads kernel.pid_max is raised for the run and restored after.
#
# env: BLOCKWATCH, SCALE, RATES ("100 1000 10000"), THREADS ("100 1000 10000
#      50000"), WARM (7 s), WINDOW (15 s), BENCH_SCALE_TABLE
#      (build/bench/scale.md), OFFCPUTIME
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BLOCKWATCH=${BLOCKWATCH:-$ROOT/build/blockwatch}
SCALE=${SCALE:-$ROOT/build/tests/scale}
RATES=${RATES-100 1000 10000}
THREADS=${THREADS-100 1000 10000 50000}
WARM=${WARM:-7}
WINDOW=${WINDOW:-15}
OUT=${BENCH_SCALE_TABLE:-$ROOT/build/bench/scale.md}
OFFCPUTIME=${OFFCPUTIME:-$(command -v offcputime || echo /usr/sbin/offcputime)}

die() { echo "bench-scale: error: $*" >&2; exit 1; }
note() { echo "bench-scale: $*" >&2; }
[[ $(id -u) -eq 0 ]] || die "run as root"
[[ -x $BLOCKWATCH && -x $SCALE ]] || die "build first: make all build/tests/scale"
[[ -x $OFFCPUTIME ]] || OFFCPUTIME=''

TMP=$(mktemp -d)
PIDS=()
PID_MAX=$(cat /proc/sys/kernel/pid_max)
stop_all() {
    local p
    # SIGTERM: a background job of a script ignores SIGINT (the workload);
    # blockwatch ends on either with its last report
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}
cleanup() {
    stop_all
    [[ $(cat /proc/sys/kernel/pid_max) == "$PID_MAX" ]] || echo "$PID_MAX" >/proc/sys/kernel/pid_max
    rm -rf "$TMP"
}
trap cleanup EXIT

cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# point LABEL ARGS...: one row; the workload runs WARM + WINDOW s
point() {
    local label=$1 wl bw off t0 t1 c0b c1b c0o c1o hz
    shift
    hz=$(getconf CLK_TCK)
    mkfifo "$TMP/in"
    "$SCALE" "$@" 3600 <"$TMP/in" >"$TMP/wl" 2>&1 &
    wl=$!
    PIDS+=("$wl")
    exec 3>"$TMP/in"
    for _ in $(seq 1200); do grep -q '^ready' "$TMP/wl" && break; sleep 0.1; done
    grep -q '^ready' "$TMP/wl" || die "workload $* not ready: $(cat "$TMP/wl")"
    echo go >&3
    set -m
    "$BLOCKWATCH" -f json -o "$TMP/bw.json" </dev/null 2>"$TMP/bw.err" &
    bw=$!
    off=
    if [[ -n $OFFCPUTIME ]]; then "$OFFCPUTIME" </dev/null >/dev/null 2>&1 & off=$!; fi
    set +m
    PIDS+=("$bw" ${off:+"$off"})
    for _ in $(seq 600); do grep -q '^blockwatch: tracing' "$TMP/bw.err" && break; sleep 0.1; done
    grep -q '^blockwatch: tracing' "$TMP/bw.err" || die "blockwatch did not start: $(cat "$TMP/bw.err")"
    sleep "$WARM"
    t0=$EPOCHREALTIME
    c0b=$(cpu_ticks "$bw"); [[ -n $off ]] && c0o=$(cpu_ticks "$off")
    sleep "$WINDOW"
    t1=$EPOCHREALTIME
    c1b=$(cpu_ticks "$bw"); [[ -n $off ]] && c1o=$(cpu_ticks "$off")
    rb=$(rss_kb "$bw"); [[ -n $off ]] && ro=$(rss_kb "$off")
    # the tracers first: the workload's threads, killed, would end their
    # blocks in the last report
    kill -TERM "$bw" ${off:+"$off"} 2>/dev/null || true
    wait "$bw" ${off:+"$off"} 2>/dev/null || true
    stop_all
    exec 3>&-
    rm -f "$TMP/in"
    # what blockwatch saw in its reports after the warm-up: blocks/s, drops
    read -r seen drops < <(python3 - "$TMP/bw.json" <<'EOF'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rs = rs[1:] or rs  # the first report is the warm-up's
ns = sum(r["interval_ns"] for r in rs) or 1
print(f'{sum(r["above_threshold_count"] for r in rs) * 1e9 / ns:.0f}',
      sum(sum(r["dropped"].values()) for r in rs))
EOF
)
    awk -v l="$label" -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" -v hz="$hz" \
        -v cb=$((c1b - c0b)) -v co=$(( ${c1o:-0} - ${c0o:-0} )) -v rb="$rb" -v ro="${ro:-0}" \
        -v seen="$seen" -v drops="$drops" -v off="${off:+1}" 'BEGIN {
        printf "| %s | %s | %.1f%% | %.1f MB | %s |", l, seen, 100 * cb / hz / w, rb / 1024, drops
        if (off) printf " %.1f%% | %.1f MB |\n", 100 * co / hz / w, ro / 1024; else print " - | - |"
    }' >>"$TMP/table"
    note "$(tail -1 "$TMP/table")"
}

{
    echo "| load | blocks/s past the threshold (blockwatch's reports) | blockwatch CPU | blockwatch RSS | dropped | offcputime CPU | offcputime RSS |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
} >"$TMP/table"
for rate in $RATES; do
    n=$(( rate / 5 )); (( n > 0 )) || n=1
    point "$rate blocks/s ($n threads, 200 ms each)" rate "$n" "$rate"
done
for n in $THREADS; do
    need=$(( n + 20000 ))
    if (( need > $(cat /proc/sys/kernel/pid_max) )); then echo "$need" >/proc/sys/kernel/pid_max; fi
    point "$n threads blocked" idle "$n"
done

mkdir -p "$(dirname "$OUT")"
{
    cat "$TMP/table"
    echo
    echo "- CPU: the process's user + system time over a ${WINDOW} s window after ${WARM} s of warm-up, per second of wall time (100% = one core)"
    echo "- RSS: VmRSS at the end of the window; dropped: every drop the reports counted after the first"
    echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs, default settings (-t 100ms -i 5s), system-wide"
} >"$OUT"
echo
cat "$OUT"
