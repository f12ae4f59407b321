"""What the manual promises of the outputs beyond the reports' numbers:
the JSON schema rejects what it should (every report of every test is
validated against it in lib.reports.check_report; here, that a report
breaking it is caught), and the status line: on a terminal's stderr,
redrawn in place, cleared before every other line and at exit, its
numbers those the reports then add up to; nothing of it in a pipe, with
--no-progress or TERM=dumb."""

import copy
import json
import os
import re
import tempfile
import time

from lib.config import MS
from lib.errors import Fail
from lib.reports import SCHEMA_PATH, check_report, entries, now_report, parse_reports
from lib.tty import TtyProc, render

STATUS = re.compile(
    rb"\r\x1b\[Kblockwatch: (\d+(?:h\d\dm\d\ds|m\d\ds|s))  blocks (\d+) "
    rb">=100ms, (\d+) shorter  dropped (\d+)  next report in "
    rb"(\d+(?:h\d\dm\d\ds|m\d\ds|s))(?=\r|$)")
STATUS_WORDS = "next report in"


def _broken(r):
    """(what, a copy of r that breaks the schema) for each way; r is a
    --now report of the ABBA deadlock (futex details, lock owners)."""
    t = next(t for _, _, t in entries([r]) if t.get("lock_owner"))
    pi = r["processes"].index(next(p for p in r["processes"]
                                   if t in p["threads"]))
    ti = r["processes"][pi]["threads"].index(t)

    def entry(x):
        return x["processes"][pi]["threads"][ti]

    def change(fn):
        x = copy.deepcopy(r)
        fn(x)
        return x

    return [
        ("no version", change(lambda x: x.pop("version"))),
        ("another version", change(lambda x: x.update(version=x["version"] + 1))),
        ("a key the schema does not know",
         change(lambda x: x.update(surprise=1))),
        ("dropped without ringbuf",
         change(lambda x: x["dropped"].pop("ringbuf"))),
        ("an unknown drop", change(lambda x: x["dropped"].update(other=0))),
        ("an entry with an unknown key",
         change(lambda x: entry(x).update(color="red"))),
        ("a negative blocked_ns",
         change(lambda x: entry(x).update(blocked_ns=-1))),
        ("a string count", change(lambda x: entry(x).update(count="1"))),
        ("an unknown reason",
         change(lambda x: entry(x).update(reason="napping"))),
        ("ongoing without age_ns", change(lambda x: entry(x).pop("age_ns"))),
        ("lock_owner without lock_owner_comm",
         change(lambda x: entry(x).pop("lock_owner_comm"))),
        ("a futex detail with an unknown key",
         change(lambda x: entry(x)["detail"].update(extra=1))),
        ("a futex detail without op",
         change(lambda x: entry(x)["detail"].pop("op"))),
        ("an fd detail on a mutex wait",
         change(lambda x: entry(x).update(detail={"fd": 3, "target": "x"}))),
        ("a frame without module",
         change(lambda x: entry(x)["stack"][0].pop("module"))),
        ("a frame with inline false",
         change(lambda x: entry(x)["stack"][0].update(inline=False))),
        ("a deadlock that is not a list of TIDs",
         change(lambda x: x.update(deadlocks=[["a"]]))),
        ("a process without threads",
         change(lambda x: x["processes"][pi].pop("threads"))),
    ]


def t_schema_rejects(ctx):
    w, pid, (t1, t2), _ = ctx.stuck("deadlock")
    r = now_report(ctx, "-p", pid)  # validated: a real report passes
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        want = json.load(f)["properties"]["version"]["const"]
    if r.get("version") != want:
        raise Fail(f"version {r.get('version')!r}, the schema's is {want}")
    missed = []
    for what, bad in _broken(r):
        try:
            check_report(bad, what)
        except Fail as e:
            if "blockwatch-report.schema.json" not in e.reason:
                missed.append(f"{what}: caught, but not by the schema: "
                              f"{e.reason}")
            continue
        missed.append(f"{what}: not caught")
    if missed:
        raise Fail("reports that break the schema pass", missed)
    # and the same report, as text on a line, through the parser
    line = json.dumps(_broken(r)[0][1])
    try:
        parse_reports(line, "a report without version")
    except Fail:
        return
    raise Fail("parse_reports took a report without version")


def _tty_env(term="xterm"):
    env = dict(os.environ)
    env["TERM"] = term
    return env


def _json_file(ctx):
    fd, path = tempfile.mkstemp(prefix="bw-progress-", suffix=".json")
    os.close(fd)
    ctx.tmpfiles.append(path)
    return path


def _start_tty(ctx, *args, term="xterm", cols=120):
    bw = TtyProc([ctx.cfg.blockwatch, *map(str, args)], "blockwatch",
                 env=_tty_env(term), cols=cols)
    ctx.procs.append(bw)
    if not bw.wait_for(rb"blockwatch: tracing[^\n]*\n", 30):
        raise Fail("no 'blockwatch: tracing' line on the terminal",
                   bw.tail())
    return bw


def _finish_tty(bw, timeout=20):
    rc = bw.wait(timeout)
    if rc != 0:
        raise Fail(f"blockwatch on a terminal: exit {rc}, expected 0",
                   bw.tail(30))


def t_progress_tty(ctx):
    """-p a workload that sleeps 4 x 300 ms and exits: the text report
    on the terminal too (stdout), JSON to a file; the workload's exit is
    a stderr line while the status line is up."""
    path = _json_file(ctx)
    cols = 100
    w, pid, tid = ctx.workload("sleep", 300, 4)
    bw = _start_tty(ctx, "-p", pid, "-i", "1s", "-f", "text",
                    "-f", f"json:{path}", cols=cols)
    # at least two redraws before the workload starts
    if not bw.wait_for(rb"(?s)(" + STATUS.pattern + rb".*){2}", 5):
        raise Fail("fewer than two status lines within 5 s", bw.tail()
                   + [repr(bw.data[-400:])])
    ctx.go(w, 15)
    _finish_tty(bw)
    draws = list(STATUS.finditer(bw.data))
    try:
        screen = render(bw.data)
    except ValueError as e:
        raise Fail(f"blockwatch wrote an unexpected escape sequence: {e}",
                   [repr(bw.data[:400])])
    details = ["the terminal's lines:"] + ["  " + repr(x)
                                           for x in screen[-40:]]
    left = [x for x in screen if STATUS_WORDS in x]
    if left:
        raise Fail("a status line left on the screen (not cleared before "
                   "the next line or at exit)", details)
    if screen[-1] != "":
        raise Fail(f"the cursor's line is {screen[-1]!r} at exit, not "
                   "empty", details)
    exited = f"blockwatch: process {pid} (blockers) exited"
    if exited not in screen:
        raise Fail(f"no intact line {exited!r}", details)
    if not any(x.startswith("=== ") for x in screen) or \
            not any(x.startswith(f"PID {pid} ") for x in screen):
        raise Fail("no intact text report header on the terminal", details)
    long = [m.group(0)[4:] for m in draws if len(m.group(0)) - 4 > cols - 1]
    if long:
        raise Fail(f"a status line wider than the terminal ({cols} "
                   "columns, at most cols-1)", [repr(x) for x in long[:3]])
    if len(draws) < 3:
        raise Fail(f"{len(draws)} status lines in the run, expected one "
                   "a second", details)
    seen = [(int(m.group(2)), int(m.group(3)), int(m.group(4)))
            for m in draws]
    if any(b < a for x, y in zip(seen, seen[1:]) for a, b in zip(x, y)):
        raise Fail("the status line's counts went down", [str(seen)])
    with open(path, encoding="utf-8") as f:
        reports = parse_reports(f.read(), where=path,
                                expect_threshold=100 * MS)
    slow = sum(r["above_threshold_count"] for r in reports)
    shorter = sum(r["below_threshold_count"] for r in reports)
    dropped = sum(sum(r["dropped"].values()) for r in reports)
    last = seen[-1]
    if last[0] > slow or last[1] > shorter or last[2] > dropped:
        raise Fail("the status line counted more than the reports then did",
                   [f"last status: blocks {last[0]}, shorter {last[1]}, "
                    f"dropped {last[2]}; reports: {slow}, {shorter}, "
                    f"{dropped}"])
    mine = [t for _, _, t in entries(reports, pid=pid, tid=tid)]
    count = sum(t["count"] for t in mine if not t["ongoing"])
    if count != 4:
        raise Fail(f"{count} sleeps of the worker in the reports, "
                   "expected 4")


def t_progress_pipe(ctx):
    """stderr a pipe (and stdout): not a byte of the status line."""
    w, pid, _ = ctx.workload("sleep", 300, 3)
    bw = ctx.blockwatch("-p", pid, "-i", "1s", "-f", "json")
    ctx.tracing(bw)
    time.sleep(2.2)     # past two redraws, were there any
    ctx.go(w, 15)
    ctx.finish(bw)
    bad = [x for x in bw.err + bw.out
           if "\r" in x or "\x1b" in x or STATUS_WORDS in x]
    if bad:
        raise Fail("status line bytes in a pipe", [repr(x) for x in bad[:5]])
    parse_reports(bw.stdout_text())


def t_progress_narrow(ctx):
    """A 40-column terminal: the status line is cut to 39, so that it
    never wraps (a wrapped line cannot be redrawn with a carriage
    return)."""
    bw = _start_tty(ctx, "-t", "100ms", "-i", "1s", "-d", "2500ms",
                    "-f", "json:/dev/null", cols=40)
    _finish_tty(bw)
    cut = re.findall(rb"\r\x1b\[K(blockwatch: [^\r\n]*)", bw.data)
    if len(cut) < 2:
        raise Fail(f"{len(cut)} status lines, expected one a second",
                   bw.tail())
    wide = [x for x in cut if len(x) > 39 or b"next report" in x]
    if wide:
        raise Fail("status lines not cut to 39 columns",
                   [repr(x) for x in wide[:3]])
    if STATUS_WORDS in "".join(render(bw.data)):
        raise Fail("a status line left on the screen", bw.tail())


def t_progress_off(ctx):
    """On a terminal, but --no-progress, or TERM=dumb: no status line."""
    for how, args, term in (("--no-progress", ("--no-progress",), "xterm"),
                            ("TERM=dumb", (), "dumb")):
        bw = _start_tty(ctx, *args, "-t", "100ms", "-i", "1s", "-d", "2500ms",
                        "-f", "json", term=term)
        _finish_tty(bw)
        if b"\x1b" in bw.data or STATUS_WORDS.encode() in bw.data:
            raise Fail(f"{how}: a status line on the terminal", bw.tail())
        text = bw.data.decode("utf-8", "replace").replace("\r\n", "\n")
        parse_reports("\n".join(x for x in text.splitlines()
                                if x.startswith("{")), f"{how} stdout")


TESTS = [
    ("schema-rejects", t_schema_rejects),
    ("progress-tty", t_progress_tty),
    ("progress-pipe", t_progress_pipe),
    ("progress-narrow", t_progress_narrow),
    ("progress-off", t_progress_off),
]
