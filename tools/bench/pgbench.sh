#!/bin/bash
# `make bench`, part 4: PostgreSQL under pgbench while a tracer watches the
# whole system, as a new user would try it on a database server.
#
# A throwaway cluster (Debian's PostgreSQL, initdb under the build dir, a
# private port and unix socket dir, torn down on every exit path) runs
# pgbench with 8 clients, two workloads:
#   select-only  -S: reads from shared buffers, few blocks past 1 ms
#   tpcb-like    the default: WAL fsyncs and row-lock waits, many blocks
# in three configurations per round, their order rotating each round:
#   base        nothing attached
#   blockwatch  $BLOCKWATCH -t 1ms -i $INTERVAL -f json -o FILE (system-wide;
#               INTERVAL defaults to blockwatch's own, 5s)
#   offcputime  /usr/sbin/offcputime -m 1000 (libbpf-tools)
# For each it takes the per-round ratio of baseline tps to tps (1.10x: 10%
# fewer transactions a second) and reports the median (min–max). For
# blockwatch it also reports the blocks past the threshold a second (the
# sum of its JSON reports' above_threshold_count over the run) and its CPU
# (the sum of its threads' sum_exec_runtime, /proc/PID/task/*/schedstat,
# in ns: utime+stime come in 10 ms ticks, a tenth of a 10 s run's) from
# the start of the pgbench run to its end, as microseconds of CPU per
# such block. With WARM=SECS each configuration first runs pgbench for
# SECS with the tracer attached, unmeasured: blockwatch's caches warm, as
# they are on a host where it runs all the time.
#
# Usage: tools/bench/pgbench.sh            (as root)
#   env BLOCKWATCH   default build/blockwatch
#   env ROUNDS       default 3
#   env DURATION     seconds per pgbench run (default 10)
#   env INTERVAL     blockwatch -i (default 5s, its own default)
#   env WARM         seconds of unmeasured pgbench before each run (default 10; 0: cold)
#   env CLIENTS      default 8
#   env SCALE        pgbench -i scale (default 10)
#   env PGDIR        cluster dir, default build/bench-pg (removed before and after)
#   env PGPORT       default 54329
#   env PG_BIN       default: the newest /usr/lib/postgresql/*/bin
#   env BENCH_PG_TABLE  Markdown table, default build/bench/pgbench.md
#   env OFFCPUTIME   default /usr/sbin/offcputime
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BLOCKWATCH=${BLOCKWATCH:-$ROOT/build/blockwatch}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-8}
SCALE=${SCALE:-10}
PGDIR=${PGDIR:-$ROOT/build/bench-pg}
PGPORT=${PGPORT:-54329}
OUT=${BENCH_PG_TABLE:-$ROOT/build/bench/pgbench.md}
OFFCPUTIME=${OFFCPUTIME:-/usr/sbin/offcputime}
SETTLE=${SETTLE:-0.5}
INTERVAL=${INTERVAL:-5s}
WARM=${WARM:-10}

die() { echo "bench-pg: error: $*" >&2; exit 1; }
note() { echo "bench-pg: $*" >&2; }

[[ $WARM =~ ^[0-9]+$ ]] || die "WARM must be a whole number of seconds (got '$WARM')"
for v in ROUNDS DURATION CLIENTS SCALE PGPORT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
(( EUID == 0 )) || die "must run as root (BPF tracers and system-wide tracing)"
[[ -x $BLOCKWATCH ]] || die "blockwatch not found at $BLOCKWATCH (build it with make)"
if [[ -z ${PG_BIN:-} ]]; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
[[ -n $PG_BIN && -x $PG_BIN/initdb && -x $PG_BIN/pgbench ]] ||
    die "PostgreSQL not found (Debian: apt-get install postgresql postgresql-contrib)"
id postgres >/dev/null 2>&1 || die "no 'postgres' user (Debian's postgresql package makes it)"
CONFIGS=(base blockwatch)
if [[ -x $OFFCPUTIME ]]; then CONFIGS+=(offcputime)
else note "offcputime not found (Debian: libbpf-tools): blockwatch vs baseline only"; fi

TMP=$(mktemp -d /tmp/blockwatch-pgbench.XXXXXX)
chmod 755 "$TMP"
TRACER_PID=''
PG_UP=''
as_pg() { runuser -u postgres -- "$@"; }

alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && ${st%% *} != Z && ${st%% *} != X ]]
}

# SIGINT, then SIGTERM, then SIGKILL; STOP_RC: its exit status.
stop_tracer() {
    local pid=$TRACER_PID sig i
    STOP_RC=0
    [[ -n $pid ]] || return 0
    for sig in INT TERM KILL; do
        kill -s "$sig" "$pid" 2>/dev/null || true
        for ((i = 0; i < 200; i++)); do alive "$pid" || break; sleep 0.1; done
        alive "$pid" || break
    done
    wait "$pid" 2>/dev/null || STOP_RC=$?
    [[ $sig == INT ]] || STOP_RC="SIG$sig:$STOP_RC"
    TRACER_PID=''
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [[ -z $TRACER_PID ]] || stop_tracer || true
    if [[ -n $PG_UP ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PGDIR" "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ready() {  # tracer attached?
    case $1 in
        blockwatch) grep -q '^blockwatch: tracing' "$TMP/tracer.err" 2>/dev/null ;;
        offcputime)
            local cgt
            grep -qs '^link_type:' /proc/"$TRACER_PID"/fdinfo/* || return 1
            cgt=$(awk '/^SigCgt:/ {print $2}' "/proc/$TRACER_PID/status" 2>/dev/null) || return 1
            [[ -n $cgt ]] && (( 0x$cgt & 2 )) &&
                grep -q nanosleep "/proc/$TRACER_PID/wchan" 2>/dev/null ;;
    esac
}

start_tracer() {
    local cfg=$1 i
    : >"$TMP/tracer.err"; : >"$TMP/bw.json"
    set -m
    case $cfg in
        blockwatch) "$BLOCKWATCH" -t 1ms -i "$INTERVAL" -f json -o "$TMP/bw.json" \
            </dev/null >/dev/null 2>"$TMP/tracer.err" & ;;
        offcputime) "$OFFCPUTIME" -m 1000 </dev/null >/dev/null 2>"$TMP/tracer.err" & ;;
    esac
    TRACER_PID=$!
    set +m
    for ((i = 0; i < 1200; i++)); do
        ready "$cfg" && return 0
        alive "$TRACER_PID" || { stop_tracer; cat "$TMP/tracer.err" >&2; die "$cfg exited before attaching"; }
        sleep 0.05
    done
    die "$cfg not attached after 60 s"
}

# ns of CPU of every thread of $1 (sum_exec_runtime)
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f", s }'; }

# ------------------------------------------------------------- the cluster --

rm -rf "$PGDIR"
mkdir -p "$PGDIR/sock" "$(dirname "$OUT")"
chown -R postgres: "$PGDIR"
as_pg "$PG_BIN/initdb" -D "$PGDIR/data" -A trust -U postgres >"$TMP/initdb.log" 2>&1 ||
    { cat "$TMP/initdb.log" >&2; die "initdb failed"; }
cat >>"$PGDIR/data/postgresql.conf" <<EOF
listen_addresses = ''
port = $PGPORT
unix_socket_directories = '$PGDIR/sock'
shared_buffers = 256MB
max_connections = 30
EOF
PG_UP=1
as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w start >/dev/null ||
    { cat "$PGDIR/server.log" >&2; die "postgres did not start"; }
PGB=("$PG_BIN/pgbench" -h "$PGDIR/sock" -p "$PGPORT" -U postgres)
as_pg "${PGB[@]}" -i -q -s "$SCALE" postgres >"$TMP/init.log" 2>&1 ||
    { cat "$TMP/init.log" >&2; die "pgbench -i failed"; }

# run_pg WORKLOAD [SECS]: sets TPS
run_pg() {
    local args=(-c "$CLIENTS" -j 2 -T "${2:-$DURATION}" -n) out
    [[ $1 == select-only ]] && args+=(-S)
    out=$(as_pg "${PGB[@]}" "${args[@]}" postgres 2>&1) || { echo "$out" >&2; die "pgbench failed"; }
    TPS=$(awk '/^tps = / { print $3; exit }' <<<"$out")
    [[ $TPS =~ ^[0-9.]+$ ]] || { echo "$out" >&2; die "no tps in pgbench's output"; }
}

# ------------------------------------------------------------------- runs --

WORKLOADS=(select-only tpcb-like)
NCFG=${#CONFIGS[@]}
note "$ROUNDS rounds x ${#WORKLOADS[@]} workloads x $NCFG configs (${CONFIGS[*]}), ${DURATION}s each, $CLIENTS clients, scale $SCALE"
for wl in "${WORKLOADS[@]}"; do run_pg "$wl"; note "warm-up $wl: $TPS tps"; done
echo "round,workload,config,tps,bw_blocks,bw_cpu_sec,secs" >"$TMP/runs.csv"
for ((r = 1; r <= ROUNDS; r++)); do
    for wl in "${WORKLOADS[@]}"; do
        line="round $r/$ROUNDS $wl:"
        for ((k = 0; k < NCFG; k++)); do
            cfg=${CONFIGS[(r - 1 + k) % NCFG]}
            blocks='' cpu=''
            [[ $cfg == base ]] || start_tracer "$cfg"
            sleep "$SETTLE"
            (( WARM == 0 )) || run_pg "$wl" "$WARM"
            if [[ $cfg == blockwatch ]]; then
                c0=$(cpu_ns "$TRACER_PID")
                b0=$({ grep -o '"above_threshold_count":[0-9]*' "$TMP/bw.json" || true; } |
                    awk -F: '{ s += $2 } END { print s + 0 }')
            fi
            t0=$EPOCHREALTIME
            run_pg "$wl"
            t1=$EPOCHREALTIME
            if [[ $cfg == blockwatch ]]; then
                c1=$(cpu_ns "$TRACER_PID")
                cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
            fi
            if [[ $cfg != base ]]; then
                stop_tracer
                [[ $STOP_RC == 0 ]] || { cat "$TMP/tracer.err" >&2; die "$cfg exit status $STOP_RC"; }
            fi
            if [[ $cfg == blockwatch ]]; then
                blocks=$({ grep -o '"above_threshold_count":[0-9]*' "$TMP/bw.json" || true; } |
                    awk -F: -v b0="$b0" '{ s += $2 } END { print s - b0 }')
                cp "$TMP/bw.json" "$TMP/bw-last-$wl.json"
            fi
            secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
            echo "$r,$wl,$cfg,$TPS,$blocks,$cpu,$secs" >>"$TMP/runs.csv"
            line+=" $cfg ${TPS}tps${blocks:+ ${blocks}blocks ${cpu}s-cpu}"
        done
        note "$line"
    done
done
cp "$TMP/runs.csv" "${OUT%.md}.csv"

# ---------------------------------------------------------------- results --

# stats WL CFG FIELD: median min max over rounds of FIELD, where FIELD is
# ratio (base tps / tps), bps (blocks/s), us (CPU us per block), cpu (% of a core)
stats() {
    awk -F, -v wl="$1" -v cfg="$2" -v f="$3" '
        NR > 1 && $2 == wl { tps[$1, $3] = $4; b[$1, $3] = $5; c[$1, $3] = $6; s[$1, $3] = $7; R[$1] = 1 }
        END {
            n = 0
            for (r in R) {
                if (!((r, cfg) in tps)) continue
                if (f == "ratio") { if (!((r, "base") in tps)) continue; v = tps[r, "base"] / tps[r, cfg] }
                else if (f == "bps") v = b[r, cfg] / s[r, cfg]
                else if (f == "us") v = b[r, cfg] ? c[r, cfg] * 1e6 / b[r, cfg] : 0
                else if (f == "cpu") v = 100 * c[r, cfg] / s[r, cfg]
                else v = tps[r, cfg]
                x[++n] = v
            }
            for (i = 2; i <= n; i++)
                for (j = i; j > 1 && x[j - 1] > x[j]; j--) { t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
            med = (n % 2) ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
            printf "%.4f %.4f %.4f\n", med, x[1], x[n]
        }' "${OUT%.md}.csv"
}

{
    hdr="| pgbench, $CLIENTS clients, ${DURATION}s runs | baseline tps | blockwatch -t 1ms -i $INTERVAL | blocks ≥ 1 ms/s | blockwatch CPU | µs CPU/block |"
    sep="| --- | --- | --- | --- | --- | --- |"
    if [[ $NCFG == 3 ]]; then hdr+=" offcputime -m 1000 |"; sep+=" --- |"; fi
    echo "$hdr"; echo "$sep"
    for wl in "${WORKLOADS[@]}"; do
        read -r tb _ _ < <(stats "$wl" base tps)
        read -r m lo hi < <(stats "$wl" blockwatch ratio)
        read -r bps _ _ < <(stats "$wl" blockwatch bps)
        read -r cpu _ _ < <(stats "$wl" blockwatch cpu)
        read -r us ulo uhi < <(stats "$wl" blockwatch us)
        row=$(awk -v wl="$wl" -v tb="$tb" -v m="$m" -v lo="$lo" -v hi="$hi" -v bps="$bps" \
            -v cpu="$cpu" -v us="$us" -v ulo="$ulo" -v uhi="$uhi" 'BEGIN {
            printf "| %s | %.0f | %.3fx (%.3f–%.3f) | %.0f | %.1f%% of a core | %.1f (%.1f–%.1f) |",
                wl, tb, m, lo, hi, bps, cpu, us, ulo, uhi }')
        if [[ $NCFG == 3 ]]; then
            read -r m lo hi < <(stats "$wl" offcputime ratio)
            row+=$(awk -v m="$m" -v lo="$lo" -v hi="$hi" 'BEGIN { printf " %.3fx (%.3f–%.3f) |", m, lo, hi }')
        fi
        echo "$row"
    done
    echo
    echo "Ratios: baseline tps / tps with the tracer, median (min–max) of $ROUNDS paired rounds, order rotating."
    echo "Goals: tpcb-like ≤ 1.03x, select-only ≤ 1.02x, ≤ 10 µs of blockwatch CPU per block."
    echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs, PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), scale $SCALE"
} >"$OUT"
echo
cat "$OUT"
