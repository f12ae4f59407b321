"""The always-on side: /metrics scraped by a real Prometheus server (its
query API then has the series of a known stuck thread, a deadlock and a
Go fixture's goroutine count), every scrape accepted by `promtool check
metrics`, OpenMetrics on request; hostile clients (a slow one, a huge
request, hundreds of connections, methods and paths that are not
/metrics) while tracing goes on; the errors (a port taken, an address
that is not one, --now with --metrics); SIGKILL leaves no BPF program."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from lib.config import START_TIMEOUT_S
from lib.errors import Fail, Skip
from lib.reports import parse_reports, reports_so_far
from lib.truth import bpf_prog_names, prog_ids_of
from test_go import KINDS, start_go

SERVING = r"^blockwatch: serving metrics on (http://127\.0\.0\.1:(\d+)/metrics)$"
OM_ACCEPT = "application/openmetrics-text;version=1.0.0"


def start(ctx, *args):
    """blockwatch --metrics 0 ARGS: (proc, its /metrics URL)."""
    bw = ctx.blockwatch("--metrics", "0", *args)
    m = bw.wait_line("err", SERVING, START_TIMEOUT_S)
    if not m:
        raise Fail("no 'serving metrics on' line", bw.tail())
    ctx.tracing(bw)
    return bw, m.group(1)


def scrape(url, accept=None, timeout=5):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=timeout) as r:
        body = r.read().decode()
        return body, r.headers.get("Content-Type"), time.monotonic() - t0


def promtool_check(text, where):
    if not shutil.which("promtool"):
        raise Skip("promtool not installed (Debian: prometheus)")
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise Fail(f"promtool check metrics rejects {where} (rc {p.returncode})",
                   (p.stdout + p.stderr).splitlines()[:15])


def err_lines(bw):
    with bw._cv:
        return list(bw.err)


def samples(text, name):
    """{labels-string: value} of one metric's samples."""
    out = {}
    for line in text.splitlines():
        m = re.match(rf"^{name}(\{{[^}}]*\}})? (\S+)$", line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_prometheus(ctx, target):
    if not shutil.which("prometheus"):
        raise Skip("prometheus not installed")
    tmp = tempfile.mkdtemp(prefix="bw-e2e-prom-")
    ctx.tmpdirs.append(tmp)
    conf = os.path.join(tmp, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: blockwatch\n"
                f"    static_configs:\n      - targets: ['{target}']\n")
    port = free_port()
    p = ctx.spawn(["prometheus", f"--config.file={conf}",
                   f"--storage.tsdb.path={tmp}/data",
                   f"--web.listen-address=127.0.0.1:{port}",
                   "--log.level=warn"], "prometheus")
    api = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(api + "/-/ready", timeout=2) as r:
                if r.status == 200:
                    return p, api
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.3)
    raise Fail("prometheus not ready within 30 s", p.tail())


def query(api, expr):
    url = api + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as r:
        res = json.load(r)
    if res.get("status") != "success":
        raise Fail(f"query {expr}: {res}")
    return [(s["metric"], float(s["value"][1])) for s in res["data"]["result"]]


def wait_query(api, expr, ok, timeout=30):
    """Polls until ok(result); returns the last result either way."""
    deadline = time.monotonic() + timeout
    while True:
        got = query(api, expr)
        if ok(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def t_metrics_prometheus(ctx):
    """A real Prometheus scrapes blockwatch every second; its query API
    has a deadlocked pair, the stuck threads' ages, and the Go fixture's
    goroutine count as runtime.NumGoroutine says it."""
    w, pid, tids, _ = ctx.stuck("deadlock")
    g, gopid = start_go(ctx, "default", *KINDS)
    g.send("count\n")
    m = g.wait_line("out", r"^count (\d+)$", 10)
    if not m:
        raise Fail("go fixture did not answer 'count'", g.tail())
    goroutines = int(m.group(1))
    bw, url = start(ctx, "-p", f"{pid},{gopid}", "-t", "50ms", "-i", "1s",
                    "-f", "json")
    target = url.split("/")[2]
    _, api = start_prometheus(ctx, target)
    dead = wait_query(api, f'blockwatch_deadlocked_threads{{pid="{pid}"}}',
                      lambda r: r and r[0][1] == 2)
    if not dead or dead[0][1] != 2:
        raise Fail(f"deadlocked threads of {pid}: {dead}, expected 2")
    gos = wait_query(api, f'blockwatch_go_goroutines{{pid="{gopid}"}}',
                     lambda r: r and r[0][1] == goroutines)
    if not gos or gos[0][1] != goroutines:
        raise Fail(f"goroutines of {gopid}: {gos}, the runtime says {goroutines}")
    longest = query(api, f'blockwatch_longest_block_seconds{{pid="{pid}"}}')
    if not longest or longest[0][1] < 1:
        raise Fail(f"longest block of {pid}: {longest}, expected over 1 s")
    sends = query(api, f'blockwatch_go_goroutines_by_reason{{pid="{gopid}",'
                       'reason="chan send"}')
    if not sends or sends[0][1] < 50:
        raise Fail(f"chan send goroutines of {gopid}: {sends}, expected 50+")
    up = query(api, 'up{job="blockwatch"}')
    if not up or up[0][1] != 1:
        raise Fail(f"up: {up}")
    rate = wait_query(api, 'rate(blockwatch_reports_total[10s])',
                      lambda r: r and 0.4 < r[0][1] < 2)
    if not rate or not 0.4 < rate[0][1] < 2:
        raise Fail(f"reports per second: {rate}, expected about 1 (-i 1s)")
    bw.signal(signal.SIGINT)
    ctx.finish(bw, timeout=10)
    reports = parse_reports(bw.stdout_text())
    if len(reports) < 3:
        raise Fail(f"{len(reports)} JSON reports beside the metrics")


def t_metrics_promtool(ctx):
    """Every scrape, in both formats, is what promtool accepts; counters
    only grow; the content types are the formats'."""
    w, pid, tids, _ = ctx.stuck("chain")
    bw, url = start(ctx, "-t", "20ms", "-i", "500ms", "-f", "json:/dev/null")
    before = None
    for i in range(5):
        text, ctype, _ = scrape(url)
        if not ctype.startswith("text/plain; version=0.0.4"):
            raise Fail(f"Content-Type {ctype}")
        promtool_check(text, f"scrape {i + 1}")
        reports = samples(text, "blockwatch_reports_total")[""]
        if before is not None and reports < before:
            raise Fail(f"reports_total went from {before} to {reports}")
        before = reports
        time.sleep(0.6)
    if before < 3:
        raise Fail(f"reports_total {before} after 3 s at -i 500ms")
    mine = samples(text, "blockwatch_blocked_threads")
    stuck = sum(v for k, v in mine.items() if f'pid="{pid}"' in k)
    # the chain's threads, and its main thread reading stdin
    if stuck != len(tids) + 1:
        raise Fail(f"blocked threads of {pid}: {stuck}, the chain has {len(tids)} "
                   "and main",
                   [k + " " + str(v) for k, v in mine.items()][:10])
    om, ctype, _ = scrape(url, accept=OM_ACCEPT)
    if not ctype.startswith("application/openmetrics-text; version=1.0.0"):
        raise Fail(f"OpenMetrics Content-Type {ctype}")
    if not om.endswith("# EOF\n") or "# TYPE blockwatch_blocks counter" not in om:
        raise Fail("not OpenMetrics", om.splitlines()[-3:])
    # promtool lints the text format only (it takes an OpenMetrics
    # counter's family name for a metric without help); the OpenMetrics
    # parser that matters is Prometheus's own, which asks for this format
    # first: metrics-prometheus.
    bw.signal(signal.SIGTERM)
    ctx.finish(bw, timeout=10)


def http_raw(port, data, timeout=5):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)


def t_metrics_hostile_clients(ctx):
    """Clients that hold connections open, send a huge request, open
    hundreds of connections, or ask for anything but GET /metrics: the
    reports keep coming on time, a scrape still answers fast, blockwatch
    stays small."""
    bw, url = start(ctx, "-t", "50ms", "-i", "500ms", "-f", "json")
    port = int(url.split(":")[2].split("/")[0])
    answers = {
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc": b" 405 ",
        b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n": b" 404 ",
        b"GARBAGE\r\n\r\n": b" 400 ",  # or closed unanswered
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n": b" 431 ",
    }
    for req, want in answers.items():
        got = http_raw(port, req)
        if not got and req.startswith(b"GARBAGE"):
            continue
        if want not in got.split(b"\r\n", 1)[0] + b" ":
            raise Fail(f"{req[:40]!r}...: answered {got[:60]!r}, expected{want.decode()}")
    # slow clients: half a request each, held open; and many at once
    held = []
    try:
        for i in range(300):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2)
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost:")
                held.append(s)
            except OSError:
                break
        t0 = time.monotonic()
        n0 = len(reports_so_far(bw.stdout_text()))
        time.sleep(3)
        n1 = len(reports_so_far(bw.stdout_text()))
        if n1 - n0 < 4:
            raise Fail(f"{n1 - n0} reports in 3 s at -i 500ms with {len(held)} "
                       "slow clients: tracing was held up")
    finally:
        for s in held:
            s.close()
    # the held connections gone, a scrape is quick again
    deadline = time.monotonic() + 15
    while True:
        try:
            _, _, took = scrape(url, timeout=2)
            break
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise Fail("no scrape answered within 15 s of the slow clients "
                           "leaving")
            time.sleep(0.5)
    if took > 0.5:
        raise Fail(f"a scrape took {took:.2f} s")
    with open(f"/proc/{bw.pid}/status") as f:
        rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    if rss > 200 * 1024:
        raise Fail(f"blockwatch RSS {rss} kB after the hostile clients")
    bw.signal(signal.SIGINT)
    ctx.finish(bw, timeout=10)


def t_metrics_port_taken(ctx):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        out = os.path.join(tempfile.mkdtemp(prefix="bw-e2e-"), "kept.json")
        ctx.tmpdirs.append(os.path.dirname(out))
        with open(out, "w") as f:
            f.write("yesterday\n")
        bw = ctx.blockwatch("--metrics", str(port), "-f", f"json:{out}")
        ctx.finish(bw, expect_rc=1)
    err = err_lines(bw)
    if len(err) != 1 or not re.match(
            rf"^blockwatch: cannot serve metrics on '{port}': Address already in use$",
            err[0]):
        raise Fail("expected one line: cannot serve metrics ... in use", err)
    with open(out) as f:
        if f.read() != "yesterday\n":
            raise Fail("the output file was truncated by a run that failed")


def t_metrics_bad_address(ctx):
    for bad in ["nope", "1.2.3.4.5:80", "::1:80", "127.0.0.1:65536", "127.0.0.1:",
                "[::1]80", "-1", "0x50"]:
        bw = ctx.blockwatch("--metrics", bad)
        ctx.finish(bw, expect_rc=2)
        err = err_lines(bw)
        if len(err) != 1 or "invalid --metrics address" not in err[0]:
            raise Fail(f"--metrics {bad}: expected one line", err)
    bw = ctx.blockwatch("--now", "--metrics", "0")
    ctx.finish(bw, expect_rc=2)
    if "--metrics does not apply" not in "".join(bw.tail()):
        raise Fail("--now --metrics: expected a usage error", bw.tail())


def t_metrics_sigkill(ctx):
    """SIGKILL: the kernel drops our links with our fds; no bw_ program
    of that process stays loaded, and the port is free at once for the
    restart."""
    if not shutil.which("bpftool"):
        raise Skip("bpftool not installed")
    bw, url = start(ctx, "-t", "50ms", "-i", "1s", "-f", "json:/dev/null")
    port = url.split(":")[2].split("/")[0]
    scrape(url)
    ours = prog_ids_of(bw.pid)
    if not ours:
        raise Fail("blockwatch held no BPF program fd while tracing")
    bw.signal(signal.SIGKILL)
    bw.wait(10)
    deadline = time.monotonic() + 10
    while (ours & set(bpf_prog_names())) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = ours & set(bpf_prog_names())
    if left:
        raise Fail(f"BPF programs {sorted(left)} still loaded 10 s after SIGKILL")
    again = ctx.blockwatch("--metrics", port, "-t", "50ms", "-i", "1s",
                           "-f", "json:/dev/null")
    if not again.wait_line("err", r"^blockwatch: serving metrics", START_TIMEOUT_S):
        raise Fail("the restart could not take the port", again.tail())
    ctx.tracing(again)
    text, _, _ = scrape(url)
    if samples(text, "blockwatch_reports_total")[""] > 1:
        raise Fail("a restarted blockwatch's counters did not start from zero")
    again.signal(signal.SIGINT)
    ctx.finish(again, timeout=10)


def t_events_once(ctx):
    """--log-events: each thread of a lock chain gets one 'blocked' line
    (with its wait, its lock's holder and its frames) while it stays
    blocked over several reports, and one 'woke' line when the chain
    unwinds; nothing else of that process."""
    w, pid, tids, _ = ctx.stuck("chain")
    bw = ctx.blockwatch("-p", pid, "-t", "50ms", "-i", "300ms", "--log-events",
                        "-f", "text:/dev/null")
    ctx.tracing(bw)
    time.sleep(2)  # six reports or so
    w.send("go\n")
    if not w.wait_line("out", r"^done$", 10):
        raise Fail("the chain did not unwind", w.tail())
    bw.wait(10)  # it ends when its target exits
    lines = err_lines(bw)
    t1, t2, t3 = tids
    want = {
        t3: rf"thread {t3} \(bw-chain-3\), read on fd \d+ pipe:\[\d+\], for [\d.]+m?s "
            r"so far, in .*bw_chain_3",
        t2: rf"thread {t2} \(bw-chain-2\), mutex on mutex 0x[0-9a-f]+ \S+, lock held by "
            rf"{t3} \(bw-chain-3\), for .* so far, in .*pthread_mutex_lock",
        t1: rf"thread {t1} \(bw-chain-1\), mutex on mutex 0x[0-9a-f]+ \S+, lock held by "
            rf"{t2} \(bw-chain-2\)",
    }
    for tid, pattern in want.items():
        blocked = [x for x in lines if re.match(
            rf"^blockwatch: blocked: pid {pid} \(stuck\) thread {tid} ", x)]
        woke = [x for x in lines if re.match(
            rf"^blockwatch: woke: pid {pid} \(stuck\) thread {tid} ", x)]
        if len(blocked) != 1 or len(woke) != 1:
            raise Fail(f"thread {tid}: {len(blocked)} 'blocked' and {len(woke)} 'woke' "
                       "lines, expected one each", lines[-14:])
        if not re.search(pattern, blocked[0]):
            raise Fail(f"thread {tid}: the line does not say what it waits on",
                       [blocked[0], "expected: " + pattern])
        if blocked[0] > woke[0] and lines.index(blocked[0]) > lines.index(woke[0]):
            raise Fail(f"thread {tid}: woke before blocked", lines[-14:])


def t_events_deadlock_json(ctx):
    """With -f json the lines are JSON: one deadlock event naming both
    threads; when the process is killed, one deadlock-gone and a woke
    per thread."""
    w, pid, tids, _ = ctx.stuck("deadlock")
    bw = ctx.blockwatch("-t", "50ms", "-i", "300ms", "--log-events", "-f", "json")
    ctx.tracing(bw)
    time.sleep(1.5)
    w.kill()
    time.sleep(1.5)
    bw.signal(signal.SIGINT)
    ctx.finish(bw, timeout=10)
    events = []
    for line in err_lines(bw):
        if line.startswith("{"):
            ev = json.loads(line)
            if ev.get("pid") == pid:
                events.append(ev)
    kinds = [e["event"] for e in events]
    dl = [e for e in events if e["event"] == "deadlock"]
    if len(dl) != 1 or sorted(dl[0]["tids"]) != sorted(tids):
        raise Fail(f"deadlock events {dl}, expected one of {sorted(tids)}", kinds)
    if kinds.count("deadlock-gone") != 1:
        raise Fail("expected one deadlock-gone", kinds)
    for tid in tids:
        mine = [e["event"] for e in events if e.get("tid") == tid]
        if mine != ["blocked", "woke"]:
            raise Fail(f"thread {tid}: {mine}, expected blocked then woke")
        b = next(e for e in events if e.get("tid") == tid)
        if b["reason"] != "mutex" or b.get("owner_tid") not in tids or "frames" not in b:
            raise Fail(f"thread {tid}: {b}")


def t_events_journal_lost(ctx):
    """--log-events with stderr the journal's stream and a journal that
    refuses the lines (its socket there, nobody reading it: journald
    gone): one line says so, on stderr, once; every lost line is counted
    in blockwatch_log_lines_lost_total."""
    w, pid, tid = ctx.workload("sleep", 600, 8)
    # A mount namespace of its own with a tmpfs on /run: the journal's
    # socket is a dead one (bound, then closed: ECONNREFUSED), where
    # libsystemd reports the failure; with no socket at all it drops the
    # line without a word (ENOENT: "no journal here"). $JOURNAL_STREAM
    # names stderr, as systemd sets it.
    dead = ("import socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
            "s.bind('/run/systemd/journal/socket')")
    wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && "
            f'python3 -c "{dead}" && '
            'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$@"', "sh"]
    bw = ctx.blockwatch("--metrics", "0", "-p", pid, "-t", "100ms", "-i", "200ms",
                        "--log-events", "-f", "text:/dev/null", prefix=wrap)
    m = bw.wait_line("err", SERVING, START_TIMEOUT_S)
    if not m:
        raise Fail("no 'serving metrics on' line", bw.tail())
    ctx.tracing(bw)
    w.send("go\n")
    time.sleep(2.7)  # four sleeps or so, each seen at a report and woken
    body, _, _ = scrape(m.group(1))
    lost = samples(body, "blockwatch_log_lines_lost_total").get("", 0)
    bw.signal(signal.SIGINT)
    ctx.finish(bw, timeout=10)
    lines = err_lines(bw)
    said = [x for x in lines if "cannot write to the journal" in x]
    if len(said) != 1:
        raise Fail(f"{len(said)} 'cannot write to the journal' lines, expected one", lines[-10:])
    if any(re.match(r"^blockwatch: (blocked|woke):", x) for x in lines):
        raise Fail("log lines went to stderr, which is the journal's stream", lines[-10:])
    # each 600 ms sleep past a 200 ms report: two lines (blocked, woke)
    if lost < 4:
        raise Fail(f"blockwatch_log_lines_lost_total {lost} after 2.7 s of 600 ms sleeps, "
                   "expected 4 or more", lines[-10:])


def t_output_removed(ctx):
    """Fault injection on the always-on path: the report file removed,
    then rotated away (mv), then its directory gone. Each time one line
    says so; a new file takes the reports; when none can be made, the
    run goes on, and ends with exit 1."""
    d = tempfile.mkdtemp(prefix="bw-e2e-out-")
    ctx.tmpdirs.append(d)
    out = os.path.join(d, "reports.json")
    bw = ctx.blockwatch("-t", "50ms", "-i", "300ms", "-f", f"json:{out}",
                        "--metrics", "0")
    ctx.tracing(bw)
    time.sleep(1)
    os.unlink(out)
    time.sleep(1)
    if not os.path.exists(out):
        raise Fail("the removed output was not made again", bw.tail())
    os.rename(out, out + ".1")
    time.sleep(1)
    def whole_lines(path):
        # a report is written a piece at a time: the one being written
        # now is not a line yet
        with open(path) as f:
            text = f.read()
        return reports_so_far(text, where=path)

    fresh = whole_lines(out)
    rotated = whole_lines(out + ".1")
    if not fresh or not rotated:
        raise Fail(f"{len(rotated)} reports in the rotated file, {len(fresh)} in the new one")
    shutil.rmtree(d)
    time.sleep(1)
    bw.signal(signal.SIGINT)
    ctx.finish(bw, timeout=10, expect_rc=1)
    lines = err_lines(bw)
    moved = [x for x in lines if "was removed or renamed: writing to a new" in x]
    lost = [x for x in lines if "was removed and cannot be made again" in x]
    if len(moved) != 2 or len(lost) != 1:
        raise Fail(f"{len(moved)} 'writing to a new' lines (expected 2), {len(lost)} "
                   "'cannot be made again' (expected 1)", lines[-10:])


def t_reload_sighup(ctx):
    """SIGHUP with --config reads the options file again: a new threshold
    and interval apply at once, counters and series go on; an invalid file
    and a change only a restart can make are said and change nothing
    else. Without --config, SIGHUP ends the run as SIGTERM does."""
    d = tempfile.mkdtemp(prefix="bw-e2e-conf-")
    ctx.tmpdirs.append(d)
    conf = os.path.join(d, "blockwatch")

    def write(opts):
        with open(conf, "w") as f:
            f.write(f'# test\nBLOCKWATCH_OPTS="{opts}"\n')

    sleeps = os.path.join(os.path.dirname(ctx.cfg.blockers), "sleeps")
    w, m = ctx.simple(sleeps, "sleeps", args=("1000", "200000"))
    pid, tid = int(m.group(1)), int(m.group(2))
    w.send("go\n")
    write(f"-p {pid} -t 1s -i 300ms")
    bw, url = start(ctx, "-p", pid, "--config", conf, "-t", "1s", "-i", "300ms",
                    "-f", "json")
    time.sleep(1.5)
    before = samples(scrape(url)[0], "blockwatch_reports_total")[""]
    n0 = len(reports_so_far(bw.stdout_text()))
    write(f"-p {pid} -t 100ms -i 500ms")
    bw.signal(signal.SIGHUP)
    if not bw.wait_line("err", r"^blockwatch: SIGHUP: options from .*: threshold 100ms, "
                        r"interval 500ms$", 5):
        raise Fail("no 'SIGHUP: options from' line", bw.tail())
    time.sleep(2)
    write(f"-p {pid} -t nonsense")
    bw.signal(signal.SIGHUP)
    if not bw.wait_line("err", r"^blockwatch: SIGHUP: .* is not valid; the options stay as "
                        r"they were$", 5):
        raise Fail("an invalid file was not refused", bw.tail())
    # the file says no -p: all processes (reload-pids has the rest)
    write("-t 100ms -i 500ms")
    bw.signal(signal.SIGHUP)
    if not bw.wait_line("err", r"^blockwatch: SIGHUP: now tracing all processes$", 5):
        raise Fail("a -p change to all processes was not made", bw.tail())
    time.sleep(1)
    after = samples(scrape(url)[0], "blockwatch_reports_total")[""]
    bw.signal(signal.SIGINT)
    ctx.finish(bw, timeout=10)
    reports = parse_reports(bw.stdout_text())
    old, new = reports[:n0], reports[n0 + 1:]
    if any(r["threshold_ns"] != 1000 * 1000000 for r in old):
        raise Fail("reports before the reload not at 1 s")
    if not new or any(r["threshold_ns"] != 100 * 1000000 for r in new):
        raise Fail("reports after the reload not at 100 ms",
                   [str(r["threshold_ns"]) for r in reports])
    mine_old = sum(t["count"] for r in old for p in r["processes"] if p["pid"] == pid
                   for t in p["threads"] if t["tid"] == tid and not t["ongoing"])
    mine_new = sum(t["count"] for r in new for p in r["processes"] if p["pid"] == pid
                   for t in p["threads"] if t["tid"] == tid and not t["ongoing"])
    if mine_old or mine_new < 5:
        raise Fail(f"200 ms sleeps: {mine_old} past 1 s before, {mine_new} past 100 ms after")
    # every report after the reload but the final one covers 500 ms
    gaps = [r["interval_ns"] for r in new[1:-1]]
    if gaps and not 400e6 < sorted(gaps)[len(gaps) // 2] < 650e6:
        raise Fail(f"report intervals after the reload {gaps}, expected about 500 ms")
    if after <= before:
        raise Fail(f"reports_total {before} then {after}: counters did not go on")
    # without --config SIGHUP is a stop
    bw2 = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "60s", "-f", "json")
    ctx.tracing(bw2)
    bw2.signal(signal.SIGHUP)
    ctx.finish(bw2, timeout=10)
    if len(parse_reports(bw2.stdout_text())) != 1:
        raise Fail("SIGHUP without --config: expected the final report and exit 0")


def t_reload_pids(ctx):
    """SIGHUP with another -p list in the options file traces the new
    processes from then on and no longer the old ones, without
    detaching: the old target's exit is not said and does not end the
    run. A list with a process that is not there is refused and the
    targets stay. No -p: all processes, and the last target's exit ends
    nothing."""
    d = tempfile.mkdtemp(prefix="bw-e2e-conf-")
    ctx.tmpdirs.append(d)
    conf = os.path.join(d, "blockwatch")

    def write(opts):
        with open(conf, "w") as f:
            f.write(f'BLOCKWATCH_OPTS="{opts} -t 100ms -i 300ms"\n')

    sleeps = os.path.join(os.path.dirname(ctx.cfg.blockers), "sleeps")
    wa, ma = ctx.simple(sleeps, "sleeps", args=("1000", "200000"))
    wb, mb = ctx.simple(sleeps, "sleeps", args=("1000", "200000"))
    (pa, ta), (pb, tb) = ((int(m.group(1)), int(m.group(2))) for m in (ma, mb))
    wa.send("go\n")
    wb.send("go\n")
    write(f"-p {pa}")
    bw = ctx.blockwatch("-p", pa, "--config", conf, "-t", "100ms", "-i", "300ms",
                        "-f", "json")
    ctx.tracing(bw)
    time.sleep(2.0)
    n0 = len(reports_so_far(bw.stdout_text()))
    write(f"-p {pb}")
    bw.signal(signal.SIGHUP)
    if not bw.wait_line("err", rf"^blockwatch: SIGHUP: now tracing {pb} \(sleeps\)$", 5):
        raise Fail("no 'SIGHUP: now tracing' line for the new target", bw.tail())
    # the reports till A's last block is in hold both: it ends up to
    # 200 ms after the reload, its record read up to 100 ms later, it may
    # be held for the report after the one being made, and
    # reports_so_far leaves out the last line
    time.sleep(2.0)
    n1 = len(reports_so_far(bw.stdout_text()))
    time.sleep(1.5)
    write("-p 2147483647")
    bw.signal(signal.SIGHUP)
    if not bw.wait_line("err", r"^blockwatch: SIGHUP: .*: the new -p cannot be traced; -p "
                        r"stays as it was$", 5):
        raise Fail("a -p with no such process was not refused", bw.tail())
    time.sleep(1)
    wa.kill()
    time.sleep(1)
    if not bw.running():
        raise Fail("blockwatch ended when the process it no longer traces exited", bw.tail())
    if bw.wait_line("err", rf"^blockwatch: process {pa} ", 0):
        raise Fail("the exit of the process no longer traced was said", bw.tail())
    # no -p: all processes (the programs were loaded with --config: the
    # filter is a variable); B's exit then ends nothing
    n2 = len(reports_so_far(bw.stdout_text()))
    write("")
    bw.signal(signal.SIGHUP)
    if not bw.wait_line("err", r"^blockwatch: SIGHUP: now tracing all processes$", 5):
        raise Fail("no 'SIGHUP: now tracing all processes' line", bw.tail())
    time.sleep(2.0)
    wb.kill()
    time.sleep(1)
    if not bw.running():
        raise Fail("blockwatch ended when B exited, tracing all processes", bw.tail())
    if bw.wait_line("err", rf"^blockwatch: process {pb} ", 0):
        raise Fail("B's exit was said while tracing all processes", bw.tail())
    bw.signal(signal.SIGINT)
    ctx.finish(bw, timeout=10)
    reports = parse_reports(bw.stdout_text())
    wide = {p["pid"] for r in reports[n2 + 3:] for p in r["processes"]} - {pa, pb}
    if not wide:
        raise Fail("no process but the targets in the reports after going to all processes")

    def count(rs, pid, tid):
        return sum(t["count"] for r in rs for p in r["processes"] if p["pid"] == pid
                   for t in p["threads"] if t["tid"] == tid and not t["ongoing"])

    old, new = reports[:n0], reports[n1:n2]
    got = {"A before": count(old, pa, ta), "B before": count(old, pb, tb),
           "A after": count(new, pa, ta), "B after": count(new, pb, tb)}
    # 200 ms sleeps at -t 100ms: about five a second, each past it
    if got["A before"] < 3 or got["B before"] or got["A after"] or got["B after"] < 5:
        raise Fail(f"blocks of the old target A and the new B: {got}")


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def t_alert_rules(ctx):
    """promtool accepts the example rules, and its unit tests of them
    (each alert fires when it should, not before) pass."""
    if not shutil.which("promtool"):
        raise Skip("promtool not installed (Debian: prometheus)")
    tools = os.path.join(REPO, "tools")
    for argv in (["promtool", "check", "rules", "blockwatch.rules.yml"],
                 ["promtool", "test", "rules", "blockwatch.rules.test.yml"]):
        p = subprocess.run(argv, cwd=tools, capture_output=True, text=True, timeout=60)
        if p.returncode != 0 or "SUCCESS" not in p.stdout:
            raise Fail(" ".join(argv[1:]) + f": rc {p.returncode}",
                       (p.stdout + p.stderr).splitlines()[-15:])


def t_unit_file(ctx):
    """make install puts the unit and the options file in place; the unit
    as installed passes systemd-analyze verify, and its security exposure
    stays at most 5.0 ("OK")."""
    if not shutil.which("systemd-analyze"):
        raise Skip("systemd-analyze not installed")
    root = tempfile.mkdtemp(prefix="bw-e2e-install-")
    ctx.tmpdirs.append(root)
    prefix = os.path.join(root, "usr")
    p = subprocess.run(["make", "--no-print-directory", "-C", REPO, "install",
                        f"OUTPUT={os.path.dirname(ctx.cfg.blockwatch)}", f"PREFIX={prefix}",
                        f"SYSCONFDIR={root}/etc", f"SYSTEMD_UNIT_DIR={root}/units"],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise Fail(f"make install: rc {p.returncode}", p.stderr.splitlines()[-10:])
    unit = os.path.join(root, "units", "blockwatch.service")
    with open(unit) as f:
        text = f.read()
    if (f"ExecStart={prefix}/sbin/blockwatch --config {root}/etc/default/blockwatch "
            "$BLOCKWATCH_OPTS") not in text:
        raise Fail("the installed unit does not run the installed binary")
    with open(os.path.join(root, "etc", "default", "blockwatch")) as f:
        opts = re.search(r'^BLOCKWATCH_OPTS="([^"]*)"$', f.read(), re.M)
    if not opts:
        raise Fail("no BLOCKWATCH_OPTS= in the installed options file")
    # the default options are valid ones: --help after them parses them all
    chk = subprocess.run([ctx.cfg.blockwatch, *opts.group(1).split(), "--help"],
                         capture_output=True, text=True, timeout=10)
    if chk.returncode != 0:
        raise Fail(f"the default options are refused: {chk.stderr.strip()}")
    env = dict(os.environ, MANPATH=os.path.join(prefix, "share", "man"))
    v = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True,
                       env=env, timeout=60)
    problems = [x for x in (v.stdout + v.stderr).splitlines() if "blockwatch" in x]
    if v.returncode != 0 or problems:
        raise Fail(f"systemd-analyze verify: rc {v.returncode}", problems[:10])
    s = subprocess.run(["systemd-analyze", "security", "--offline=yes", unit],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", s.stdout + s.stderr)
    if not m:
        raise Fail("systemd-analyze security said no score",
                   (s.stdout + s.stderr).splitlines()[-5:])
    if float(m.group(1)) > 5.0:
        raise Fail(f"security exposure {m.group(1)}, more than 5.0")


# Run by systemd in the container as bw-check.service: what it sees goes
# to /check for the host side to judge.
NSPAWN_CHECK = r"""#!/bin/sh
C=/check
st() {
    systemctl show blockwatch -p ActiveState -p SubState -p MainPID -p NRestarts \
        -p StatusText -p Result -p ExecMainCode -p ExecMainStatus -p WatchdogUSec > "$C/$1"
}
i=0
while [ $i -lt 200 ]; do
    case $(systemctl show -P ActiveState blockwatch) in active|failed) break;; esac
    sleep 0.1; i=$((i+1))
done
st ready
bpftool -j prog show > $C/progs-running 2>&1
# one thread asleep 2.5 s: a 'blocked' line while it sleeps, a 'woke' after
(echo go; sleep 6) | $C/blockers sleep 2500 1 > $C/blockers.out 2>&1 &
sleep 7
st watchdog
python3 -c 'import sys, urllib.request as u
sys.stdout.write(u.urlopen(sys.argv[1], timeout=5).read().decode())' \
    http://127.0.0.1:@PORT@/metrics > $C/metrics 2>&1
sed -i 's/-t 500ms/-t 3s/' /etc/default/blockwatch
systemctl reload blockwatch
sleep 1
st reloaded
t0=$(date +%s%N)
systemctl stop blockwatch
t1=$(date +%s%N)
echo $(( (t1 - t0) / 1000000 )) > $C/stop-ms
st stopped
# the kernel frees programs after their last fd closes, a moment later
i=0
while [ $i -lt 100 ]; do
    bpftool -j prog show > $C/progs-stopped 2>&1
    grep -q '"name":"bw_' $C/progs-stopped || break
    sleep 0.1; i=$((i+1))
done
journalctl -u blockwatch -o json --no-pager > $C/journal.json 2>&1
touch $C/done
systemctl poweroff
"""


def nspawn_root(root, stage):
    """A container tree: the host's /usr (bound read-only), a small /etc,
    the installed unit and options file, a target that starts blockwatch
    and the checks."""
    for d in ("usr", "etc", "var", "proc", "sys", "dev", "run", "tmp", "root", "check"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for link in ("bin", "sbin", "lib", "lib64"):
        os.symlink(f"usr/{link}", os.path.join(root, link))
    etc = os.path.join(root, "etc")
    for f in ("passwd", "group", "shadow", "gshadow", "nsswitch.conf", "ld.so.cache",
              "ld.so.conf"):
        if os.path.exists(f"/etc/{f}"):
            shutil.copy(f"/etc/{f}", etc)
    shutil.copy("/usr/lib/os-release", etc)
    shutil.copytree(os.path.join(stage, "etc"), etc, dirs_exist_ok=True)
    units = os.path.join(etc, "systemd", "system")
    os.makedirs(os.path.join(units, "blockwatch.service.d"), exist_ok=True)
    with open(os.path.join(units, "blockwatch.service.d", "test.conf"), "w") as f:
        f.write("[Service]\nWatchdogSec=2s\n")
    with open(os.path.join(units, "bw-check.service"), "w") as f:
        f.write("[Unit]\nAfter=blockwatch.service\n[Service]\nType=oneshot\n"
                "ExecStart=/check/check.sh\n")
    with open(os.path.join(units, "bw-test.target"), "w") as f:
        f.write("[Unit]\nDescription=blockwatch under systemd\nRequires=basic.target\n"
                "After=basic.target\nWants=blockwatch.service bw-check.service\n"
                "AllowIsolate=yes\n")
    os.symlink("bw-test.target", os.path.join(units, "default.target"))


def unit_state(path):
    with open(path) as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)


def t_unit_systemd(ctx):
    """The unit as installed, under a real systemd: PID 1 of a
    systemd-nspawn container on this host's /usr. It reaches READY
    (Type=notify) with its status, keeps its pid through three watchdog
    periods, serves /metrics, logs a known block to the journal once as
    it starts and once as it ends with the fields, takes a new threshold
    on `systemctl reload`, and stops cleanly with no BPF program left."""
    nspawn = shutil.which("systemd-nspawn")
    if not nspawn or not os.path.exists("/usr/lib/systemd/systemd"):
        raise Skip("systemd-nspawn not installed (Debian: systemd-container)")
    top = tempfile.mkdtemp(prefix="bw-e2e-nspawn-")
    ctx.tmpdirs.append(top)
    root, stage = os.path.join(top, "root"), os.path.join(top, "stage")
    p = subprocess.run(["make", "--no-print-directory", "-C", REPO, "install",
                        f"OUTPUT={os.path.dirname(ctx.cfg.blockwatch)}", f"DESTDIR={stage}",
                        "PREFIX=/usr/local", "SYSCONFDIR=/etc",
                        "SYSTEMD_UNIT_DIR=/etc/systemd/system"],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise Fail(f"make install: rc {p.returncode}", p.stderr.splitlines()[-10:])
    nspawn_root(root, stage)
    port = free_port()
    opts = os.path.join(root, "etc", "default", "blockwatch")
    with open(opts) as f:
        text = f.read()
    text, n = re.subn(r'^BLOCKWATCH_OPTS=.*$',
                      f'BLOCKWATCH_OPTS="-t 500ms -i 1s --metrics 127.0.0.1:{port} '
                      '--log-events -o /dev/null --no-lines"', text, flags=re.M)
    if n != 1:
        raise Fail("no BLOCKWATCH_OPTS= line in the installed options file")
    with open(opts, "w") as f:
        f.write(text)
    check = os.path.join(root, "check")
    with open(os.path.join(check, "check.sh"), "w") as f:
        f.write(NSPAWN_CHECK.replace("@PORT@", str(port)))
    os.chmod(os.path.join(check, "check.sh"), 0o755)
    shutil.copy(ctx.cfg.blockers, os.path.join(check, "blockers"))
    # no machined, no system bus here: --register=no --keep-unit. The
    # default seccomp filter of nspawn denies bpf(2) and perf_event_open.
    argv = [nspawn, "-q", "-D", root, "--register=no", "--keep-unit", "--bind-ro=/usr",
            f"--bind-ro={stage}/usr/local:/usr/local", f"--bind={check}:/check",
            "--capability=CAP_BPF,CAP_PERFMON,CAP_SYSLOG,CAP_CHECKPOINT_RESTORE",
            "--system-call-filter=bpf perf_event_open", "-b"]
    box = ctx.spawn(argv, "systemd-nspawn")
    rc = box.wait(120)
    if rc is None or not os.path.exists(os.path.join(check, "done")):
        raise Fail(f"the container did not finish its checks (rc {rc})", box.tail(30))

    def state(name):
        return unit_state(os.path.join(check, name))

    ready, wd, reloaded, stopped = (state(n) for n in
                                    ("ready", "watchdog", "reloaded", "stopped"))
    if (ready.get("ActiveState"), ready.get("SubState")) != ("active", "running"):
        raise Fail("blockwatch.service did not reach READY", [f"{k}={v}" for k, v in
                                                             ready.items()])
    if not ready.get("StatusText", "").startswith("tracing all processes; threshold 500ms"):
        raise Fail(f"status after READY: {ready.get('StatusText')!r}")
    if wd.get("WatchdogUSec") != "2s":
        raise Fail(f"WatchdogUSec {wd.get('WatchdogUSec')!r}, the drop-in's 2s expected")
    if (wd.get("ActiveState"), wd.get("MainPID"), wd.get("NRestarts")) != \
            ("active", ready.get("MainPID"), "0"):
        raise Fail("blockwatch did not live through three watchdog periods as it was",
                   [f"ready: {ready}", f"after: {wd}"])
    if (reloaded.get("MainPID") != ready.get("MainPID")
            or "threshold 3.00s" not in reloaded.get("StatusText", "")):
        raise Fail("systemctl reload did not change the running instance's threshold",
                   [f"{reloaded}"])
    if (stopped.get("ActiveState"), stopped.get("Result"), stopped.get("ExecMainStatus")) != \
            ("inactive", "success", "0"):
        raise Fail("blockwatch did not stop cleanly", [f"{stopped}"])
    with open(os.path.join(check, "stop-ms")) as f:
        if int(f.read()) > 10000:
            raise Fail("systemctl stop took more than 10 s")

    def names(f):
        with open(os.path.join(check, f)) as fh:
            return {p.get("name", "") for p in json.load(fh)}
    if "bw_switch_btf" not in names("progs-running"):
        raise Fail("bpftool in the container does not show bw_switch_btf while it runs")
    if {n for n in names("progs-stopped") if n.startswith("bw_")}:
        raise Fail("BPF programs left after systemctl stop",
                   sorted(names("progs-stopped")))
    with open(os.path.join(check, "metrics")) as f:
        metrics = f.read()
    if "blockwatch_reports_total" not in metrics:
        raise Fail("no /metrics from the service", metrics.splitlines()[:5])
    if samples(metrics, "blockwatch_log_lines_lost_total").get("") != 0:
        raise Fail("log lines lost under a working journal",
                   [x for x in metrics.splitlines() if "lost" in x])
    with open(os.path.join(check, "blockers.out")) as f:
        m = re.search(r"^ready (\d+) (\d+)$", f.read(), re.M)
    if not m:
        raise Fail("the workload in the container did not start")
    pid, tid = m.group(1), m.group(2)
    journal = []
    with open(os.path.join(check, "journal.json")) as f:
        for line in f:
            try:
                journal.append(json.loads(line))
            except ValueError:
                pass
    # the unit grants what blockwatch says it needs (ProtectKernelLogs=
    # once took CAP_SYSLOG away behind CapabilityBoundingSet=)
    short = [e.get("MESSAGE", "") for e in journal if "without CAP_" in str(e.get("MESSAGE"))]
    if short:
        raise Fail("blockwatch under the unit lacks a capability", short)
    mine = [e for e in journal if e.get("BLOCKWATCH_PID") == pid]
    kinds = [e.get("BLOCKWATCH_EVENT") for e in mine]
    if kinds != ["blocked", "woke"]:
        raise Fail(f"journal events of pid {pid}: {kinds}, expected blocked then woke",
                   [e.get("MESSAGE", "") for e in journal][-15:])
    for e in mine:
        want = {"BLOCKWATCH_TID": tid, "BLOCKWATCH_REASON": "sleep",
                "SYSLOG_IDENTIFIER": "blockwatch",
                "PRIORITY": "4" if e["BLOCKWATCH_EVENT"] == "blocked" else "6"}
        bad = {k: e.get(k) for k, v in want.items() if e.get(k) != v}
        if bad or "bw_block_sleep" not in e.get("BLOCKWATCH_FRAMES", ""):
            raise Fail(f"journal fields of the {e['BLOCKWATCH_EVENT']} line: {bad}",
                       [e.get("MESSAGE", ""), e.get("BLOCKWATCH_FRAMES", "")])
    # the wake-up says how long the whole block was: 2.5 s
    age = int(mine[1].get("BLOCKWATCH_AGE_NS", 0))
    if not 2400 * 10**6 <= age <= 2800 * 10**6:
        raise Fail(f"the woke line's BLOCKWATCH_AGE_NS is {age}, the block was 2.5 s",
                   [mine[1].get("MESSAGE", "")])


TESTS = [
    ("metrics-prometheus", t_metrics_prometheus),
    ("metrics-promtool", t_metrics_promtool),
    ("metrics-hostile-clients", t_metrics_hostile_clients),
    ("metrics-port-taken", t_metrics_port_taken),
    ("metrics-bad-address", t_metrics_bad_address),
    ("metrics-sigkill", t_metrics_sigkill),
    ("events-once", t_events_once),
    ("events-deadlock-json", t_events_deadlock_json),
    ("events-journal-lost", t_events_journal_lost),
    ("output-removed", t_output_removed),
    ("reload-sighup", t_reload_sighup),
    ("reload-pids", t_reload_pids),
    ("alert-rules", t_alert_rules),
    ("unit-file", t_unit_file),
    ("unit-systemd", t_unit_systemd),
]
