"""What blockwatch keeps: the "self" section of a JSON report says how many
processes it holds state of; a traced process that exits is dropped from
it while another one that lives on stays."""

import signal
import time

from lib.errors import Fail
from lib.reports import entries, parse_reports, reports_so_far, symbols


def t_state_dropped_on_exit(ctx):
    """Two targets, one exits after about 3 s: a report while both live
    holds both, the last reports (three or more after the exit) hold one; what it says of
    itself is well-formed."""
    short, spid, _ = ctx.workload("sleep", 300, 6)
    long_, lpid, _ = ctx.workload("sleep", 300, 30)
    bw = ctx.blockwatch("-p", f"{spid},{lpid}", "-t", "100ms", "-i", "1s",
                        "-d", "7s", "-f", "json")
    ctx.tracing(bw)
    long_.send("go\n")
    ctx.go(short, 10)
    exited = time.time()
    ctx.finish(bw)
    long_.kill()
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * 10**6)
    seen = []
    for r in reports:
        me = r.get("self")
        if not isinstance(me, dict):
            raise Fail("report without a 'self' object", bw.tail())
        for key in ("rss_bytes", "cpu_ns", "processes", "processes_mapped",
                    "files", "stacks"):
            if not isinstance(me.get(key), int) or me[key] < 0:
                raise Fail(f"self.{key} is {me.get(key)!r}", [str(me)])
        if me["processes_mapped"] > me["processes"]:
            raise Fail("more processes mapped than known", [str(me)])
        # a wide margin: this is no memory benchmark (tools/bench is)
        if not 1 << 20 < me["rss_bytes"] < 4 << 30:
            raise Fail(f"self.rss_bytes {me['rss_bytes']} is implausible",
                       [str(me)])
        seen.append((r["time"], me["processes"]))
    details = [f"{t}: {n} processes" for t, n in seen] + [
        f"short-lived target exited at {time.strftime('%H:%M:%S', time.gmtime(exited))}"]
    if len(seen) < 4:
        raise Fail(f"{len(seen)} reports, expected 7", details + bw.tail())
    # the short one blocks for about 3 s after "go": a report or more
    if 2 not in [n for _, n in seen]:
        raise Fail("no report holds both targets", details)
    if [n for _, n in seen[-2:]] != [1, 1]:
        raise Fail("the exited target's state was not dropped", details)


# Loaded only when needed: libmicrohttpd (and its GnuTLS) for --metrics,
# capstone for a stripped Go binary; libdebuginfod (libcurl, TLS) never.
NOT_LOADED = ("libmicrohttpd", "libgnutls", "libcapstone", "libdebuginfod",
              "libcurl")


def mapped_libraries(pid):
    with open(f"/proc/{pid}/maps") as f:
        return {line.split()[-1].rsplit("/", 1)[-1] for line in f
                if "/" in line}


def t_libraries_when_needed(ctx):
    """A run that named a stack in libc (its debug file read) has none of
    the libraries it did not need mapped; with --metrics it has
    libmicrohttpd (so the check sees what is loaded)."""
    w, pid, tid = ctx.workload("sleep", 300, 40)
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "500ms", "-f", "json")
    ctx.tracing(bw)
    w.send("go\n")
    deadline = time.monotonic() + 10
    named = False
    while not named and time.monotonic() < deadline:
        time.sleep(0.2)
        named = any("bw_block_sleep" in symbols(t) for _, _, t in
                    entries(reports_so_far(bw.stdout_text()), pid=pid))
    if not named:
        raise Fail("no report named the worker's stack", bw.tail())
    libs = mapped_libraries(bw.pid)
    bw.signal(signal.SIGINT)
    ctx.finish(bw)
    loaded = sorted(lib for lib in libs if lib.startswith(NOT_LOADED))
    if loaded:
        raise Fail(f"loaded without a need: {', '.join(loaded)}")
    from test_daemon import start
    bw, _ = start(ctx, "-p", pid)
    libs = mapped_libraries(bw.pid)
    bw.signal(signal.SIGINT)
    ctx.finish(bw)
    w.kill()
    if not any(lib.startswith("libmicrohttpd") for lib in libs):
        raise Fail("--metrics serves but libmicrohttpd is not mapped",
                   sorted(libs))


TESTS = [
    ("state-dropped-on-exit", t_state_dropped_on_exit),
    ("libraries-when-needed", t_libraries_when_needed),
]
