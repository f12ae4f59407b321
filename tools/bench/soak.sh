#!/usr/bin/env bash
# The always-on soak: blockwatch system-wide at the service's settings
# (-t 1s is too rare to exercise anything here, so -t 20ms) with
# --metrics and --log-events for SOAK_S seconds (default 600) of process
# and thread churn (a shell starting ~300 short processes a second, each
# blocking 50 ms; a Go process whose goroutines churn at 20,000/s), while
# /metrics is scraped every second. Every 10 s: blockwatch's RSS and CPU;
# at the end: the slope of RSS after warm-up, CPU as a share of a core,
# the slowest scrape, the drops. Numbers, not a verdict: the README's
# table is made from them.
#
# The service's memory options (tools/blockwatch.default) are the
# default SOAK_OPTS: --no-lines --ringbuf-size 2M.
#
# Env: BLOCKWATCH, GO_FIXTURE, SOAK_S (600), OUT (build/bench-soak),
#      SOAK_OPTS, SOAK_T (the threshold, 20ms; the service's is 1s).
set -euo pipefail
BW=${BLOCKWATCH:-build/blockwatch}
GOFIX=${GO_FIXTURE:-build/tests/go/default/goroutines}
SOAK_S=${SOAK_S:-600}
SOAK_T=${SOAK_T:-20ms}
SOAK_OPTS=${SOAK_OPTS---no-lines --ringbuf-size 2M}
OUT=${OUT:-build/bench-soak}
mkdir -p "$OUT"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

# process churn: 20 short-lived processes at a time, each one sleeping
( while :; do for _ in $(seq 20); do sleep 0.05 & done; wait; done ) &
pids+=($!)
# thread churn: a Go process creating and ending 20,000 goroutines a
# second (its runtime starts and parks threads as it goes)
mkfifo "$OUT/go.in" 2>/dev/null || true
"$GOFIX" -churn 20000 -send 100 < "$OUT/go.in" > "$OUT/go.out" &
pids+=($!)
exec 9> "$OUT/go.in"

"$BW" -t "$SOAK_T" -i 15s --metrics 127.0.0.1:0 --log-events -o /dev/null $SOAK_OPTS \
	2> "$OUT/stderr" &
bwpid=$!
pids+=($bwpid)
for _ in $(seq 100); do
	url=$(grep -o 'http://127.0.0.1:[0-9]*/metrics' "$OUT/stderr" | head -1 || true)
	[ -n "$url" ] && break
	sleep 0.1
done
[ -n "$url" ] || { echo "soak: blockwatch did not start" >&2; cat "$OUT/stderr" >&2; exit 1; }

# the scrapes (one a second, timed in-process: not curl's start-up) and
# the samples, by one Python loop
python3 - "$OUT" "$SOAK_S" "$url" "$bwpid" <<'PY'
import os, sys, time, urllib.request
out, soak, url, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
tck = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tck
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"):
            return int(l.split()[1])
samples, scrapes = open(f"{out}/samples", "w"), open(f"{out}/scrapes", "w")
samples.write("t_s rss_kb cpu_s\n")
t0 = time.monotonic()
for t in range(soak + 1):
    if t % 10 == 0 or t == soak:
        samples.write(f"{t} {rss()} {cpu()}\n"); samples.flush()
    s0 = time.monotonic()
    try:
        body = urllib.request.urlopen(url, timeout=5).read()
        open(f"{out}/last.prom", "wb").write(body)
    except OSError as e:
        print(f"soak: scrape {t} failed: {e}", file=sys.stderr)
    scrapes.write(f"{int((time.monotonic() - s0) * 1e6)}\n")
    time.sleep(max(0, t0 + t + 1 - time.monotonic()))
PY
kill -INT "$bwpid"; wait "$bwpid" || true

python3 - "$OUT" "$SOAK_S" <<'PY'
import re, sys
out, soak = sys.argv[1], float(sys.argv[2])
rows = [l.split() for l in open(f"{out}/samples").read().splitlines()[1:]]
t = [float(r[0]) for r in rows]; rss = [int(r[1]) / 1024 for r in rows]
cpu = [float(r[2]) for r in rows]
warm = [i for i, x in enumerate(t) if x >= 60] or list(range(len(t)))
xs = [t[i] for i in warm]; ys = [rss[i] for i in warm]
mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
den = sum((x - mx) ** 2 for x in xs) or 1
slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 600
scr = sorted(int(x) / 1000 for x in open(f"{out}/scrapes").read().split())
prom = open(f"{out}/last.prom").read()
drops = {m.group(1): float(m.group(2)) for m in
         re.finditer(r'^blockwatch_dropped_events_total\{cause="(\w+)"\} (\S+)$', prom, re.M)}
reports = re.search(r"^blockwatch_reports_total (\S+)$", prom, re.M).group(1)
print(f"soak {soak:.0f} s: RSS {min(rss):.1f}-{max(rss):.1f} MB (after 60 s: "
      f"{min(ys):.1f}-{max(ys):.1f} MB, slope {slope:+.2f} MB per 10 min); "
      f"CPU {100 * (cpu[-1] - cpu[0]) / (t[-1] - t[0]):.2f}% of a core; "
      f"scrapes {len(scr)}, median {scr[len(scr) // 2]:.1f} ms, slowest {scr[-1]:.1f} ms; "
      f"reports {reports}; drops {drops}")
print("RSS MB every 60 s: " + " ".join(f"{rss[i]:.1f}" for i in range(0, len(rss), 6)))
PY
