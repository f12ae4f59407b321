#!/bin/bash
# blockwatch overhead benchmark (what `make bench` runs).
#
# Measures how much a system-wide tracer slows down two workloads:
#   perf bench sched pipe     context-switch heavy: every op blocks and wakes
#   perf bench syscall basic  a getppid() loop: no blocking at all
# in these configurations, run back to back within each round in an order
# that rotates from round to round (to cancel drift):
#   base        nothing attached
#   empty       sched pipe only: an empty program on tp_btf/sched_switch
#   empty2      sched pipe only: empty programs on tp_btf/sched_switch and
#               raw_tp/rseq_update, the tracepoints blockwatch's switch path
#               uses: the floor of any tracer built there (tools/bench/empty/)
#   blockwatch  $BLOCKWATCH $BLOCKWATCH_ARGS  (default: -t 1ms -i 1s -f json -o /dev/null)
#   blockwatch-ref  $BLOCKWATCH_REF, same arguments (only when set: a build to
#               compare against, e.g. the one before a change)
#   offcputime  libbpf-tools offcputime -m 1000 (skipped if not installed)
# For every round it takes the ratio tool/base of perf's usecs/op, and it
# reports the median (min–max) of those paired ratios per workload, the
# ratio blockwatch/empty2 (what blockwatch adds above the floor of its
# tracepoints), and the CPU time each tracer used while the workload ran
# (its userspace and anything it does in the kernel in its own context;
# the BPF programs run in the workload's context and are in its time).
#
# Usage: tools/bench/bench.sh [options]       (as root)
#   -b, --blockwatch PATH   env BLOCKWATCH      default build/blockwatch
#   -r, --rounds N          env ROUNDS          default 7
#   --pipe-loops N          env PIPE_LOOPS      default 500000 (~1 s pinned here),
#                                               40000 unpinned (~1-2 s)
#   --syscall-loops N       env SYSCALL_LOOPS   default 15000000 (~1.2 s)
#   --cpu LIST|none         env BENCH_CPU       run the workloads under taskset -c LIST
#                                               (default 0); none: no pinning
#   -o, --out FILE          env BENCH_OUT       per-run CSV, default build/bench/results.csv
#   -w, --workloads LIST    env BENCH_WORKLOADS default "pipe syscall"
#   env BENCH_EMPTY_OBJ     the empty programs' object, default build/bench/empty.bpf.o
#   env BW_ATTACH           their loader, default build/bench/bw-attach
#                           (both built by make bench; without them: no floor)
#   env BLOCKWATCH_REF      a second blockwatch build to measure beside the first
#   env BENCH_TABLE         Markdown table, default: table.md next to BENCH_OUT
#   env BLOCKWATCH_ARGS     default "-t 1ms -i 1s -f json -o /dev/null"
#   env OFFCPUTIME          default: offcputime from PATH or /usr/sbin/offcputime
#   env ATTACH_TIMEOUT      seconds to wait for a tracer to attach (default 60)
#   env SETTLE              seconds to wait after attach / between runs (default 0.3)
#   env WARMUP              1 = one unrecorded run of each workload first (default 1)
#
# A tracer counts as attached:
#   blockwatch  once it prints a stderr line starting with "blockwatch: tracing";
#   offcputime  once it holds a BPF link, catches SIGINT and sleeps (libbpf-tools
#               0.26's offcputime prints no "Tracing ..." banner; a BCC-style
#               banner on stdout is accepted too).
# Why pin: unpinned, sched pipe's two processes land on one CPU or on two from
# run to run, and on this VM that alone moves the baseline between ~2 and ~45
# us/op (cross-CPU wakeups of an idle vCPU dominate), which drowns the tracer's
# cost. On one CPU it is steady (~2 us/op, ±3%) and ratios measure what a
# tracer adds per context switch. The tracers themselves are never pinned.
#
# Each is stopped with SIGINT and must exit 0. Tracers run in their own process
# group (so a Ctrl-C at the terminal reaches only this script, whose EXIT trap
# stops whatever tracer is running: SIGINT, then SIGTERM, then SIGKILL).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "bench: error: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

BLOCKWATCH=${BLOCKWATCH:-$ROOT/build/blockwatch}
ROUNDS=${ROUNDS:-7}
PIPE_LOOPS=${PIPE_LOOPS:-}
SYSCALL_LOOPS=${SYSCALL_LOOPS:-15000000}
BENCH_CPU=${BENCH_CPU:-0}
BENCH_OUT=${BENCH_OUT:-$ROOT/build/bench/results.csv}
BENCH_TABLE=${BENCH_TABLE:-}
BLOCKWATCH_ARGS=${BLOCKWATCH_ARGS:--t 1ms -i 1s -f json -o /dev/null}
OFFCPUTIME=${OFFCPUTIME:-}
ATTACH_TIMEOUT=${ATTACH_TIMEOUT:-60}
SETTLE=${SETTLE:-0.3}
WARMUP=${WARMUP:-1}
BENCH_WORKLOADS=${BENCH_WORKLOADS:-pipe syscall}
BENCH_EMPTY_OBJ=${BENCH_EMPTY_OBJ:-$ROOT/build/bench/empty.bpf.o}
BW_ATTACH=${BW_ATTACH:-$ROOT/build/bench/bw-attach}
BLOCKWATCH_REF=${BLOCKWATCH_REF:-}

while (($#)); do
    case $1 in
        -b|--blockwatch) BLOCKWATCH=${2?}; shift ;;
        -r|--rounds) ROUNDS=${2?}; shift ;;
        --pipe-loops) PIPE_LOOPS=${2?}; shift ;;
        --syscall-loops) SYSCALL_LOOPS=${2?}; shift ;;
        --cpu) BENCH_CPU=${2?}; shift ;;
        -o|--out) BENCH_OUT=${2?}; shift ;;
        -w|--workloads) BENCH_WORKLOADS=${2?}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done

[[ $BENCH_CPU == none ]] && BENCH_CPU=''
if [[ -z $PIPE_LOOPS ]]; then
    if [[ -n $BENCH_CPU ]]; then PIPE_LOOPS=500000; else PIPE_LOOPS=40000; fi
fi
for v in ROUNDS PIPE_LOOPS SYSCALL_LOOPS ATTACH_TIMEOUT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ $SETTLE =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "SETTLE must be a number of seconds (got '$SETTLE')"
BENCH_TABLE=${BENCH_TABLE:-$(dirname "$BENCH_OUT")/table.md}
read -r -a BW_ARGS <<<"$BLOCKWATCH_ARGS"
read -r -a WORKLOADS <<<"$BENCH_WORKLOADS"
((${#WORKLOADS[@]})) || die "no workloads"
for wl in "${WORKLOADS[@]}"; do
    [[ $wl == pipe || $wl == syscall ]] || die "unknown workload '$wl' (pipe, syscall)"
done

# ---------------------------------------------------------------- tracers ---

TRACER_PID=''    # the tracer currently running, if any
TRACER_NAME=''
TMP=$(mktemp -d /tmp/blockwatch-bench.XXXXXX)

alive() {  # pid is running (not gone, not a zombie)
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && ${st%% *} != Z && ${st%% *} != X ]]
}

# Stop the running tracer: SIGINT, then SIGTERM, then SIGKILL. Sets STOP_RC
# to its exit status (prefixed with the signal we had to escalate to, if any).
stop_tracer() {
    local pid=$TRACER_PID sig i rc
    STOP_RC=''
    [[ -n $pid ]] || return 0
    for sig in INT TERM KILL; do
        kill -s "$sig" "$pid" 2>/dev/null || true
        for ((i = 0; i < 200; i++)); do  # up to 20 s per signal
            alive "$pid" || break
            sleep 0.1
        done
        alive "$pid" || break
        note "$TRACER_NAME (pid $pid) still running 20 s after SIG$sig"
    done
    rc=0
    wait "$pid" 2>/dev/null || rc=$?
    TRACER_PID=''
    if [[ $sig == INT ]]; then STOP_RC=$rc; else STOP_RC="SIG$sig:$rc"; fi
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $TRACER_PID ]]; then
        note "stopping $TRACER_NAME (pid $TRACER_PID)"
        stop_tracer || true
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# offcputime is attached when it holds a BPF link, catches SIGINT and sleeps
# in (clock_)nanosleep; a BCC-style "Tracing ..." banner also counts.
offcputime_ready() {
    local pid=$1 cgt
    grep -q '^Tracing' "$TMP/tracer.out" 2>/dev/null && return 0
    grep -qs '^link_type:' /proc/"$pid"/fdinfo/* || return 1
    cgt=$(awk '/^SigCgt:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 1
    [[ -n $cgt ]] && (( 0x$cgt & 2 )) || return 1
    grep -q nanosleep "/proc/$pid/wchan" 2>/dev/null
}

blockwatch_ready() { grep -q '^blockwatch: tracing' "$TMP/tracer.err" 2>/dev/null; }
empty_ready() { grep -q '^bw-attach: attached' "$TMP/tracer.err" 2>/dev/null; }

# start_tracer CONFIG: start it and wait until it is attached. Sets ATTACH_SEC.
start_tracer() {
    local cfg=$1 t0 ready cmd
    case $cfg in
        blockwatch) cmd=("$BLOCKWATCH" "${BW_ARGS[@]}"); ready=blockwatch_ready ;;
        blockwatch-ref) cmd=("$BLOCKWATCH_REF" "${BW_ARGS[@]}"); ready=blockwatch_ready ;;
        empty) cmd=("$BW_ATTACH" "$BENCH_EMPTY_OBJ" empty_switch); ready=empty_ready ;;
        empty2) cmd=("$BW_ATTACH" "$BENCH_EMPTY_OBJ" empty_switch empty_rseq); ready=empty_ready ;;
        offcputime) cmd=("$OFFCPUTIME" -m 1000); ready=offcputime_ready ;;
        *) die "start_tracer: unknown config $cfg" ;;
    esac
    : >"$TMP/tracer.out"; : >"$TMP/tracer.err"
    t0=$EPOCHREALTIME
    # set -m: own process group, and SIGINT not inherited as ignored (bash
    # makes background jobs ignore SIGINT when job control is off).
    set -m
    "${cmd[@]}" </dev/null >"$TMP/tracer.out" 2>"$TMP/tracer.err" &
    TRACER_PID=$!
    set +m
    TRACER_NAME=$cfg
    until "$ready" "$TRACER_PID"; do
        if ! alive "$TRACER_PID"; then
            stop_tracer
            tracer_log "$cfg" "died before attaching"
            tail -n 20 "$TMP/tracer.err" >&2
            die "$cfg exited (status $STOP_RC) before it was attached: ${cmd[*]}"
        fi
        if (( $(elapsed "$t0") > ATTACH_TIMEOUT * 1000 )); then
            stop_tracer
            tracer_log "$cfg" "not attached after ${ATTACH_TIMEOUT}s"
            tail -n 20 "$TMP/tracer.err" >&2
            die "$cfg not attached after ${ATTACH_TIMEOUT}s: ${cmd[*]}"
        fi
        sleep 0.05
    done
    ATTACH_SEC=$(awk -v ms="$(elapsed "$t0")" 'BEGIN { printf "%.3f", ms / 1000 }')
}

CLK_TCK=$(getconf CLK_TCK)
# CPU time (user + system, all threads) of process $1 so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

elapsed() {  # milliseconds since $1 (an $EPOCHREALTIME value)
    local now=$EPOCHREALTIME
    echo $(( (${now/./} - ${1/./}) / 1000 ))
}

# Append the last tracer run's stderr (and stdout for blockwatch, which
# should be empty with -o /dev/null) to the log next to the CSV.
tracer_log() {
    {
        echo "=== $1: $2"
        cat "$TMP/tracer.err"
        [[ $1 == blockwatch* ]] && cat "$TMP/tracer.out"
    } >>"$LOG" 2>/dev/null || true
}

# -------------------------------------------------------------- workloads ---

PIN=()
[[ -n $BENCH_CPU ]] && PIN=(taskset -c "$BENCH_CPU")

wl_cmd() {  # wl_cmd WORKLOAD LOOPS -> WL_CMD array
    case $1 in
        pipe) WL_CMD=("${PIN[@]}" perf bench sched pipe -l "$2") ;;
        syscall) WL_CMD=("${PIN[@]}" perf bench syscall basic -l "$2") ;;
    esac
}
wl_loops() { if [[ $1 == pipe ]]; then echo "$PIPE_LOOPS"; else echo "$SYSCALL_LOOPS"; fi; }
wl_label() {
    case $1 in
        pipe) echo "perf bench sched pipe ($PIPE_LOOPS loops${BENCH_CPU:+, CPU $BENCH_CPU})" ;;
        syscall) echo "perf bench syscall basic ($SYSCALL_LOOPS loops${BENCH_CPU:+, CPU $BENCH_CPU})" ;;
    esac
}

# run_workload WORKLOAD LOOPS: sets USEC (usecs/op) and TOTAL (seconds).
run_workload() {
    local out
    wl_cmd "$1" "$2"
    out=$("${WL_CMD[@]}" 2>&1) || { echo "$out" >&2; die "failed: ${WL_CMD[*]}"; }
    TOTAL=$(awk '/Total time:/ { print $3; exit }' <<<"$out")
    USEC=$(awk '$2 == "usecs/op" { print $1; exit }' <<<"$out")
    [[ $TOTAL =~ ^[0-9.]+$ ]] || { echo "$out" >&2; die "no 'Total time' in output of: ${WL_CMD[*]}"; }
    # usecs/op has more digits than Total time; derive it if it is missing.
    [[ $USEC =~ ^[0-9.]+$ ]] || USEC=$(awk -v t="$TOTAL" -v n="$2" 'BEGIN { printf "%.6f", t * 1e6 / n }')
}

# ----------------------------------------------------------------- checks ---

(( EUID == 0 )) || die "must run as root (BPF tracers and system-wide tracing)"
command -v perf >/dev/null || die "perf not found (apt-get install linux-perf)"
if ! out=$(perf bench sched pipe -l 1000 2>&1) || ! grep -q 'Total time:' <<<"$out"; then
    echo "$out" >&2
    die "'perf bench sched pipe -l 1000' does not work"
fi
if ! out=$(perf bench syscall basic -l 1000 2>&1) || ! grep -q 'Total time:' <<<"$out"; then
    echo "$out" >&2
    die "'perf bench syscall basic -l 1000' does not work"
fi
if [[ -n $BENCH_CPU ]]; then
    command -v taskset >/dev/null || die "taskset not found (util-linux)"
    taskset -c "$BENCH_CPU" true || die "cannot pin to CPU list '$BENCH_CPU'"
fi

[[ $BLOCKWATCH == */* ]] || BLOCKWATCH=$(command -v "$BLOCKWATCH" || echo "$BLOCKWATCH")
[[ -f $BLOCKWATCH && -x $BLOCKWATCH ]] ||
    die "blockwatch not found at $BLOCKWATCH (build it with make, or set BLOCKWATCH)"

CONFIGS=(base)
EMPTY=0
if [[ -f $BENCH_EMPTY_OBJ && -x $BW_ATTACH ]]; then
    CONFIGS+=(empty empty2)
    EMPTY=1
else
    note "no empty programs ($BENCH_EMPTY_OBJ, $BW_ATTACH: make bench builds them); no floor measured"
fi
CONFIGS+=(blockwatch)
if [[ -n $BLOCKWATCH_REF ]]; then
    [[ -f $BLOCKWATCH_REF && -x $BLOCKWATCH_REF ]] || die "BLOCKWATCH_REF '$BLOCKWATCH_REF' is not an executable"
    CONFIGS+=(blockwatch-ref)
fi
if [[ -z $OFFCPUTIME ]]; then
    OFFCPUTIME=$(command -v offcputime || true)
    [[ -n $OFFCPUTIME ]] || [[ ! -x /usr/sbin/offcputime ]] || OFFCPUTIME=/usr/sbin/offcputime
fi
if [[ -n $OFFCPUTIME && -x $OFFCPUTIME ]]; then
    CONFIGS+=(offcputime)
else
    note "offcputime not found (Debian: apt-get install libbpf-tools); measuring blockwatch vs baseline only"
    OFFCPUTIME=''
fi

if [[ $(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo 0) != 0 ]]; then
    note "warning: kernel.bpf_stats_enabled=1 adds overhead to every BPF program run"
fi
for p in blockwatch offcputime bw-attach; do
    if pgrep -x "$p" >/dev/null; then
        note "warning: a $p process is already running; it will skew the results: $(pgrep -d ' ' -x "$p")"
    fi
done

mkdir -p "$(dirname "$BENCH_OUT")" "$(dirname "$BENCH_TABLE")"
LOG=${BENCH_OUT%.csv}.log
: >"$LOG"

# ------------------------------------------------------------------- runs ---

# The configurations of a workload: the empty programs only on sched pipe
# (the syscall loop never switches: they cost it nothing).
wl_configs() {  # -> WL_CONFIGS array
    local c
    WL_CONFIGS=()
    for c in "${CONFIGS[@]}"; do
        [[ $1 != pipe && $c == empty* ]] || WL_CONFIGS+=("$c")
    done
}
T_START=$EPOCHREALTIME

note "$ROUNDS rounds x ${#WORKLOADS[@]} workloads (${WORKLOADS[*]}) x configs (${CONFIGS[*]});" \
     "blockwatch: $BLOCKWATCH ${BW_ARGS[*]}${OFFCPUTIME:+; offcputime: $OFFCPUTIME -m 1000}"

if [[ $WARMUP == 1 ]]; then
    for wl in "${WORKLOADS[@]}"; do
        run_workload "$wl" "$(wl_loops "$wl")"
        note "warm-up $wl: $USEC usecs/op"
    done
fi

echo "round,workload,loops,config,position,usecs_per_op,total_sec,attach_sec,tracer_exit,tracer_cpu_ms" >"$TMP/results.csv"
for ((r = 1; r <= ROUNDS; r++)); do
    for wl in "${WORKLOADS[@]}"; do
        loops=$(wl_loops "$wl")
        line="round $r/$ROUNDS $wl:"
        wl_configs "$wl"
        NCFG=${#WL_CONFIGS[@]}
        for ((k = 0; k < NCFG; k++)); do
            cfg=${WL_CONFIGS[(r - 1 + k) % NCFG]}
            ATTACH_SEC='' STOP_RC=''
            [[ $cfg == base ]] || start_tracer "$cfg"
            sleep "$SETTLE"
            c0=0
            [[ $cfg == base ]] || c0=$(cpu_ticks "$TRACER_PID")
            run_workload "$wl" "$loops"
            CPU_MS=''
            [[ $cfg == base ]] || CPU_MS=$(( ($(cpu_ticks "$TRACER_PID") - c0) * 1000 / CLK_TCK ))
            if [[ $cfg != base ]]; then
                stop_tracer
                tracer_log "$cfg" "round $r $wl (exit $STOP_RC)"
                if [[ $STOP_RC != 0 ]]; then
                    tail -n 20 "$TMP/tracer.err" >&2
                    die "$cfg did not exit 0 on SIGINT (exit: $STOP_RC); see $LOG"
                fi
            fi
            echo "$r,$wl,$loops,$cfg,$((k + 1)),$USEC,$TOTAL,$ATTACH_SEC,$STOP_RC,$CPU_MS" >>"$TMP/results.csv"
            line+=" $cfg $USEC"
        done
        note "$line (usecs/op)"
    done
done
cp "$TMP/results.csv" "$BENCH_OUT"

# ---------------------------------------------------------------- results ---

# stats WORKLOAD CONFIG [OVER] -> "median min max" of the per-round ratios
# CONFIG/OVER (OVER default base; CONFIG=base: of base usecs/op itself);
# "" when CONFIG did not run on WORKLOAD.
stats() {
    awk -F, -v wl="$1" -v cfg="$2" -v den="${3:-base}" '
        NR > 1 && $2 == wl { v[$1, $4] = $6; rounds[$1] = 1 }
        END {
            n = 0
            for (r in rounds) {
                if (!((r, den) in v) || !((r, cfg) in v)) continue
                x[++n] = (cfg == den) ? v[r, den] : v[r, cfg] / v[r, den]
            }
            if (!n) exit
            for (i = 2; i <= n; i++)  # insertion sort
                for (j = i; j > 1 && x[j - 1] > x[j]; j--) { t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
            med = (n % 2) ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
            printf "%.6f %.6f %.6f\n", med, x[1], x[n]
        }' "$BENCH_OUT"
}
fmt_time() {  # usecs/op -> "42.1 us/op", "1.87 us/op" or "79.6 ns/op"
    awk -v u="$1" 'BEGIN {
        if (u < 1) printf "%.1f ns/op", u * 1000
        else if (u < 10) printf "%.2f us/op", u
        else printf "%.1f us/op", u }'
}
fmt_ratio() { awk -v m="$1" -v lo="$2" -v hi="$3" 'BEGIN { printf "%.2fx (%.2f–%.2f)", m, lo, hi }'; }

declare -A GOAL=([pipe]=1.05 [syscall]=1.10)
declare -A TITLE=([empty]="empty sched_switch" [empty2]="empty sched_switch + rseq_update"
    [blockwatch]="blockwatch ${BW_ARGS[*]:0:2}" [blockwatch-ref]="blockwatch-ref ${BW_ARGS[*]:0:2}"
    [offcputime]="offcputime -m 1000")
{
    hdr="| workload | baseline |"
    sep="| --- | --- |"
    for cfg in "${CONFIGS[@]:1}"; do hdr+=" ${TITLE[$cfg]} |"; sep+=" --- |"; done
    echo "$hdr"
    echo "$sep"
    for wl in "${WORKLOADS[@]}"; do
        read -r bmed _ _ < <(stats "$wl" base)
        row="| $(wl_label "$wl") | $(fmt_time "$bmed") |"
        for cfg in "${CONFIGS[@]:1}"; do
            m='' lo='' hi=''
            read -r m lo hi < <(stats "$wl" "$cfg") || true
            if [[ -n $m ]]; then row+=" $(fmt_ratio "$m" "$lo" "$hi") |"; else row+=" – |"; fi
        done
        echo "$row"
    done
    echo
    echo "Medians (min–max) over $ROUNDS rounds of the per-round ratio tool/baseline of perf's usecs/op;"
    echo "baseline is the median usecs/op with nothing attached. Configurations rotate order each round."
    echo
    if ((EMPTY)) && [[ " ${WORKLOADS[*]} " == *" pipe "* ]]; then
        for cfg in blockwatch blockwatch-ref; do
            [[ " ${CONFIGS[*]} " == *" $cfg "* ]] || continue
            read -r m lo hi < <(stats pipe "$cfg" empty2)
            printf -- '- pipe: %s over the empty programs on its tracepoints (per round, %s/empty2): %s\n' \
                "$cfg" "$cfg" "$(fmt_ratio "$m" "$lo" "$hi")"
        done
    fi
    for wl in "${WORKLOADS[@]}"; do
        for cfg in "${CONFIGS[@]:1}"; do
            [[ $cfg == blockwatch* || $cfg == offcputime ]] || continue
            awk -F, -v wl="$wl" -v cfg="$cfg" '
                NR > 1 && $2 == wl && $4 == cfg && $10 != "" { x[++n] = $10 / ($7 * 1000) }
                END {
                    if (!n) exit
                    for (i = 2; i <= n; i++)
                        for (j = i; j > 1 && x[j - 1] > x[j]; j--) { t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
                    med = (n % 2) ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
                    printf "- %s: %s used %.0f%% of a CPU (median; %.0f–%.0f%%) while the workload ran\n",
                        wl, cfg, med * 100, x[1] * 100, x[n] * 100
                }' "$BENCH_OUT"
        done
    done
    for wl in "${WORKLOADS[@]}"; do
        read -r m _ _ < <(stats "$wl" blockwatch)
        read -r _ blo bhi < <(stats "$wl" base)
        verdict=$(awk -v m="$m" -v g="${GOAL[$wl]}" 'BEGIN { print (m <= g) ? "met" : "MISSED" }')
        printf -- '- %s: blockwatch %.2fx, goal ≤ %sx: %s (baseline spread %s – %s)\n' \
            "$wl" "$m" "${GOAL[$wl]}" "$verdict" "$(fmt_time "$blo")" "$(fmt_time "$bhi")"
    done
    [[ -n $OFFCPUTIME ]] || echo "- offcputime not installed: not measured"
    echo "- blockwatch: \`$BLOCKWATCH ${BW_ARGS[*]}\`"
    [[ -z $BLOCKWATCH_REF ]] || echo "- blockwatch-ref: \`$BLOCKWATCH_REF ${BW_ARGS[*]}\`"
    echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs, workloads $([[ -n $BENCH_CPU ]] && echo "pinned to CPU $BENCH_CPU" || echo "not pinned")"
} >"$TMP/table.md"
cp "$TMP/table.md" "$BENCH_TABLE"

echo
cat "$BENCH_TABLE"
echo
note "raw runs: $BENCH_OUT; table: $BENCH_TABLE; tracer logs: $LOG; took $(( $(elapsed "$T_START") / 1000 )) s"
