"""Goroutines, seen from outside: the goroutine view of the Go fixture
(tests/fixtures/go/goroutines.go) in its four builds, checked against
the runtime's own account of them (its goroutine profile at debug=2);
channels; trends (a leak is flagged at its rate, a fixed pool and a
burst that drains are not); a churning process read many times; and
the errors (a process that is not Go, memory that cannot be read)."""

import os
import shutil
import tempfile

from lib.config import READY_TIMEOUT_S, EXIT_TIMEOUT_S
from lib import godump
from lib.errors import Fail, Skip
from lib.procs import describe_rc
from lib.reports import now_report, parse_reports

# goroutines parked in each way, and the reason the runtime gives them
KINDS = ["-send", "50", "-cap", "4", "-recv", "7", "-select", "5",
         "-mutex", "6", "-rwmutex", "4", "-wg", "3", "-cond", "3",
         "-sleep", "8", "-io", "4", "-timer", "2"]
STATES = {"idle", "runnable", "running", "syscall", "waiting", "moribund",
          "dead", "enqueue", "copystack", "preempted", "leaked"}


def start_go(ctx, variant, *args, prefix=()):
    path = ctx.cfg.go_fixture[variant]
    if not os.access(path, os.X_OK):
        raise Fail(f"not built: {path}")
    w = ctx.spawn([*prefix, path, *args], "goroutines", stdin=True)
    m = w.wait_line("out", r"^ready (\d+)$", READY_TIMEOUT_S)
    if not m:
        raise Fail(f"go fixture did not print 'ready' ({describe_rc(w.wait(1))})",
                   w.tail())
    # a round trip: its main goroutine is back in its read of stdin
    w.send("count\n")
    if not w.wait_line("out", r"^count \d+$", READY_TIMEOUT_S):
        raise Fail("go fixture did not answer 'count'", w.tail())
    return w, int(m.group(1))


def runtime_dump(ctx, w):
    """The fixture's own goroutine profile (debug=2), parsed."""
    tmp = tempfile.mkdtemp(prefix="bw-e2e-go-")
    ctx.tmpdirs.append(tmp)
    path = os.path.join(tmp, "goroutines.txt")
    os.chmod(tmp, 0o777)
    w.send(f"dump {path}\n")
    if not w.wait_line("out", r"^dumped \d+$", 10):
        raise Fail("go fixture did not dump its goroutines", w.tail())
    with open(path, encoding="utf-8", errors="replace") as f:
        return godump.parse(f.read())


def go_view(report, pid):
    for proc in report["processes"]:
        if proc["pid"] == pid:
            if "go" not in proc:
                raise Fail(f"process {pid} has no goroutine view",
                           [str(proc)[:300]])
            return proc, proc["go"]
    raise Fail(f"process {pid} not in the report")


def frames_of(group):
    """What the runtime's tracebacks show of a stack: its frames but the
    runtime's own, as (func, file, line, inlined)."""
    return [(f["symbol"], f["file"], f["line"], bool(f.get("inline")))
            for f in group["stack"] if not f.get("runtime")]


def show_group(g):
    site = g["blocking_site"] or {}
    return (f"{g['count']} [{g['wait_reason'] or g['state']}] at "
            f"{site.get('symbol')} {site.get('file')}:{site.get('line')}")


def check_against_dump(go, dump, where):
    """Counts, reasons, and every listed goroutine's frames and creator
    equal to the runtime's own; goroutine 1 (which the dump catches
    writing the dump) is left out of the comparisons of what it does."""
    problems = []
    if go["goroutines"] != len(dump):
        problems.append(f"{go['goroutines']} goroutines, the runtime says "
                        f"{len(dump)}")
    mine = {}
    for g in go["groups"]:
        if g["wait_reason"] and 1 not in g["goids"]:
            mine[g["wait_reason"]] = mine.get(g["wait_reason"], 0) + g["count"]
    theirs = godump.by_reason(dump, skip={1})
    theirs.pop("running", None)
    if mine != theirs:
        problems.append(f"by reason {mine}, the runtime says {theirs}")
    if go["by_reason"] != {k: v for k, v in go["by_reason"].items()
                           if k in theirs or k in mine}:
        problems.append(f"by_reason {go['by_reason']}")
    compared = 0
    for g in go["groups"]:
        for goid in g["goids"]:
            if goid == 1:
                continue
            d = dump.get(goid)
            if d is None:
                problems.append(f"goroutine {goid} ({show_group(g)}) is not in "
                                "the runtime's dump")
                continue
            compared += 1
            if frames_of(g) != d.frames:
                problems.append(f"goroutine {goid}: frames {frames_of(g)}, "
                                f"the runtime's {d.frames}")
            cb = g["created_by"]
            cbt = (cb["symbol"], cb["file"], cb["line"]) if cb else None
            if cbt != d.created_by:
                problems.append(f"goroutine {goid}: created by {cbt}, the "
                                f"runtime says {d.created_by}")
            site = g["blocking_site"]
            if d.frames and (site is None or (site["symbol"], site["file"],
                                              site["line"]) != d.frames[0][:3]):
                problems.append(f"goroutine {goid}: blocking site {site}, the "
                                f"runtime's first frame {d.frames[0]}")
    if compared < 40:
        problems.append(f"only {compared} goroutines compared")
    if problems:
        raise Fail(f"{where}: the goroutine view is not the runtime's",
                   problems[:12] + [show_group(g) for g in go["groups"]])


def check_channels(go):
    by_site = {(g["blocking_site"] or {}).get("symbol"): g for g in go["groups"]}
    send = by_site.get("main.(*OrderService).CreateOrder")
    recv = by_site.get("main.blockRecv")
    if not send or not recv:
        raise Fail("no chan send or chan receive group",
                   [show_group(g) for g in go["groups"]])
    want = {"cap": 4, "len": 4, "closed": False, "send_waiting": 50,
            "recv_waiting": 0, "elem_type": "*main.Order"}
    c = send["channel"] or {}
    if any(c.get(k) != v for k, v in want.items()) or c.get("channels") != 1:
        raise Fail(f"chan send group's channel {c}, expected {want}")
    want = {"cap": 0, "len": 0, "closed": False, "send_waiting": 0,
            "recv_waiting": 7, "elem_type": "int"}
    c = recv["channel"] or {}
    if any(c.get(k) != v for k, v in want.items()):
        raise Fail(f"chan receive group's channel {c}, expected {want}")
    for g in go["groups"]:
        if g["wait_reason"] not in ("chan send", "chan receive") and g["channel"]:
            raise Fail(f"a {g['wait_reason']} group has a channel: {g['channel']}")


def check_threads(proc):
    """The Go runtime's OS threads: stacks that end cleanly, idle Ms as
    one entry."""
    idle = [t for t in proc["threads"]
            if all((f.get("symbol") or "").startswith("runtime.")
                   for f in t["stack"] if not f.get("kernel"))]
    if len(idle) > 1:
        raise Fail(f"{len(idle)} entries for idle Go runtime threads, "
                   "expected one", [str(t)[:200] for t in idle])
    for t in proc["threads"]:
        user = [f for f in t["stack"] if not f.get("kernel")]
        if not user or user[-1].get("symbol") is None or t["truncated"]:
            raise Fail(f"thread {t['tid']}: stack ends in "
                       f"{user[-1] if user else 'nothing'} "
                       f"(truncated {t['truncated']})",
                       [f"{f.get('symbol')} {f.get('module')}" for f in user])


def t_go_now(ctx, variant):
    w, pid = start_go(ctx, variant, *KINDS)
    r = now_report(ctx, "-p", pid)
    dump = runtime_dump(ctx, w)
    proc, go = go_view(r, pid)
    if not go.get("version", "").startswith("go1."):
        raise Fail(f"version {go.get('version')!r}")
    if go.get("skipped") != {"torn": 0, "unreadable": 0, "unwind_failed": 0}:
        raise Fail(f"skipped {go.get('skipped')} in a quiet process")
    if go["max_goroutines"] < go["goroutines"] + go["system_goroutines"]:
        raise Fail(f"high-water {go['max_goroutines']} below the goroutines")
    for g in go["groups"]:
        if g["state"] not in STATES or g["count"] < 1:
            raise Fail(f"bad group {show_group(g)}: state {g['state']}")
        if g["state"] == "waiting" and g["truncated"]:
            raise Fail(f"{show_group(g)}: stack truncated")
    check_against_dump(go, dump, variant)
    check_channels(go)
    check_threads(proc)


def t_go_text(ctx):
    w, pid = start_go(ctx, "default", *KINDS)
    bw = ctx.blockwatch("--now", "-p", pid)
    ctx.finish(bw)
    out = bw.stdout_text()
    want = [f"GO {pid} (goroutines, go1.", "50 goroutines [chan send",
            "blocked at  main.(*OrderService).CreateOrder  goroutines.go:",
            "created by  main.spawnSend  goroutines.go:",
            "(*main.Order, buffer 4/4 full, open, 0 receivers waiting, "
            "50 senders waiting)",
            "7 goroutines [chan receive"]
    missing = [x for x in want if x not in out]
    if missing:
        raise Fail(f"text lacks {missing}", out.splitlines()[:60])
    if "runtime.gopark" in out:
        raise Fail("text shows runtime frames of goroutines",
                   out.splitlines()[:60])


def group_at(go, site):
    for g in go["groups"]:
        if (g["blocking_site"] or {}).get("symbol") == site:
            return g
    return None


def t_go_trend(ctx):
    """20 goroutines a second leaked; a pool of 64 parked on its jobs; a
    burst of 200 every 2 s that drains."""
    w, pid = start_go(ctx, "default", "-leak", "20", "-pool", "64",
                      "-burst", "200")
    bw = ctx.blockwatch("-p", pid, "-i", "1s", "-d", "7s", "-f", "json")
    ctx.tracing(bw)
    ctx.finish(bw)
    reports = parse_reports(bw.stdout_text())
    flagged_at = None
    for i, r in enumerate(reports):
        _, go = go_view(r, pid)
        for site in ("main.poolWorker", "main.burstOne"):
            g = group_at(go, site)
            if g and g["leak_suspect"]:
                raise Fail(f"report {i + 1}: the {site} group is flagged: "
                           f"{g['leak_why']}", [show_group(g)])
        leak = group_at(go, "main.leakOne")
        if leak and leak["leak_suspect"] and flagged_at is None:
            flagged_at = i + 1
    if len(reports) < 6:
        raise Fail(f"{len(reports)} reports in 7 s at -i 1s", bw.tail())
    if flagged_at is None or flagged_at > 4:
        raise Fail(f"the leak is flagged at report {flagged_at}, expected by "
                   "the 4th", [show_group(g) for g in
                               go_view(reports[-1], pid)[1]["groups"]])
    leak = group_at(go_view(reports[-1], pid)[1], "main.leakOne")
    rate = leak["growth_per_min"]
    if not leak["leak_suspect"] or not 0.8 * 1200 <= rate <= 1.2 * 1200:
        raise Fail(f"leak at {rate}/min, expected 1200/min within 20%; "
                   f"suspect {leak['leak_suspect']}", [leak["leak_why"] or ""])
    if "none of its" not in (leak["leak_why"] or ""):
        raise Fail(f"leak_why {leak['leak_why']!r}")


def t_go_churn(ctx):
    """Goroutines created and exiting by the thousand, read 50 times."""
    w, pid = start_go(ctx, "default", "-churn", "20000", "-send", "100")
    bw = ctx.blockwatch("-p", pid, "-i", "100ms", "-d", "5s", "-f", "json")
    ctx.tracing(bw)
    ctx.finish(bw)
    reports = parse_reports(bw.stdout_text())
    walks = failed = 0
    for r in reports:
        _, go = go_view(r, pid)
        for g in go["groups"]:
            if g["state"] not in STATES:
                raise Fail(f"invalid state in {show_group(g)}")
            walks += g["count"]
        failed += go["skipped"]["unwind_failed"]
        send = group_at(go, "main.(*OrderService).CreateOrder")
        if not send or send["count"] != 100:
            raise Fail("the 100 parked senders are not one group of 100",
                       [show_group(g) for g in go["groups"]][:10])
    if len(reports) < 40:
        raise Fail(f"{len(reports)} reports in 5 s at -i 100ms", bw.tail())
    if failed > walks / 100:
        raise Fail(f"{failed} of {walks} stack walks failed: over 1%")


def t_go_not_go(ctx):
    w, pid, tid = ctx.workload("sleep", 300, 1)
    bw = ctx.blockwatch("--now", "-p", pid, "-f", "json")
    ctx.finish(bw)
    for proc in parse_reports(bw.stdout_text())[0]["processes"]:
        if "go" in proc:
            raise Fail(f"a goroutine view for a C process: {proc['go']}")
    if [line for line in bw.err if line.strip()]:
        raise Fail("stderr not empty", bw.tail())


def t_go_unreadable(ctx):
    """The target runs as nobody; blockwatch, root, without CAP_SYS_PTRACE:
    one line, exit code 6."""
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise Skip("setpriv not installed")
    tmp = tempfile.mkdtemp(prefix="bw-e2e-go-")
    ctx.tmpdirs.append(tmp)
    os.chmod(tmp, 0o755)
    copy = os.path.join(tmp, "goroutines")
    shutil.copy2(ctx.cfg.go_fixture["default"], copy)
    os.chmod(copy, 0o755)
    w = ctx.spawn([setpriv, "--reuid=nobody", "--regid=nogroup",
                   "--clear-groups", copy, "-send", "5"], "goroutines",
                  stdin=True)
    m = w.wait_line("out", r"^ready (\d+)$", READY_TIMEOUT_S)
    if not m:
        raise Fail("go fixture did not start as nobody", w.tail())
    pid = int(m.group(1))
    bw = ctx.blockwatch("--now", "-p", pid, "-f", "json",
                        prefix=(setpriv, "--bounding-set=-sys_ptrace",
                                "--inh-caps=-sys_ptrace"))
    ctx.finish(bw, expect_rc=6)
    lines = [line for line in bw.err if line.strip()]
    reads = [line for line in lines if "cannot read" in line]
    warned = [line for line in lines if "warning: without CAP_SYS_PTRACE" in line]
    if len(reads) != 1 or str(pid) not in reads[0] or len(warned) != 1 or \
            len(lines) != len(reads) + len([x for x in lines if "warning:" in x]):
        raise Fail("expected the CAP_SYS_PTRACE warning and one 'cannot read' "
                   "line naming the process", bw.tail())
    report = parse_reports(bw.stdout_text())[0]
    if not any("CAP_SYS_PTRACE" in w for w in report.get("warnings", [])):
        raise Fail(f"the report's warnings {report.get('warnings')} do not say it")


TESTS = [(f"go-now-{v}", lambda c, v=v: t_go_now(c, v))
         for v in ("default", "stripped", "pie", "static")] + [
    ("go-text", t_go_text),
    ("go-trend", t_go_trend),
    ("go-churn", t_go_churn),
    ("go-not-go", t_go_not_go),
    ("go-unreadable", t_go_unreadable),
]
