"""Outputs: several sinks in one run (-f FORMAT[:FILE], repeatable), a
write error that is reported once while tracing goes on, and names a
traced process chose to be a terminal's commands, printed escaped."""

import json
import os
import shutil
import subprocess
import tempfile

from lib.config import EXIT_TIMEOUT_S
from lib.errors import Fail
from lib.procs import describe_rc
from lib.reports import check_report, entries, parse_reports, show_entries, symbols


def _tmp(ctx, suffix):
    fd, path = tempfile.mkstemp(prefix="bw-e2e-", suffix=suffix)
    os.close(fd)
    ctx.tmpfiles.append(path)
    return path


def t_outputs_several(ctx):
    """Text on stdout and JSON in a file, from the same run: the same
    block in both."""
    path = _tmp(ctx, ".json")
    w, pid, tid = ctx.workload("sleep", 300, 1)
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "60s", "-f", "text",
                        "-f", f"json:{path}")
    ctx.tracing(bw)
    ctx.go(w, 10)
    ctx.finish(bw)
    with open(path, encoding="utf-8", errors="replace") as f:
        reports = parse_reports(f.read(), where=path)
    mine = list(entries(reports, pid=pid, tid=tid))
    if len(mine) != 1 or "bw_block_sleep" not in symbols(mine[0][2]):
        raise Fail("no single bw_block_sleep entry for the worker in the "
                   "JSON file", show_entries(mine))
    text = bw.stdout_text()
    if not text.startswith("=== ") or f"PID {pid} " not in text:
        raise Fail("no text report for the workload on stdout",
                   ["stdout:"] + text.splitlines()[:20])
    rows = [line for line in text.splitlines()
            if line.split()[:1] == [str(tid)]]
    if len(rows) != 1 or " sleep " not in rows[0]:
        raise Fail(f"no single text row for TID {tid} (sleep)",
                   ["stdout:"] + text.splitlines()[:30])
    if "bw_block_sleep" not in text:
        raise Fail("the text report has no bw_block_sleep frame",
                   ["stdout:"] + text.splitlines()[:30])


def t_outputs_write_error(ctx):
    """A sink that cannot be written (/dev/full) is reported once; the
    others get every report; the run exits 1 at its end."""
    w, pid, tid = ctx.workload("sleep", 300, 1)
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "250ms", "-d", "2s",
                        "-f", "text:/dev/full", "-f", "json")
    ctx.tracing(bw)
    ctx.finish(bw, expect_rc=1)
    reports = parse_reports(bw.stdout_text())
    if len(reports) < 5:
        raise Fail(f"{len(reports)} JSON reports in a 2 s run at -i 250ms, "
                   "expected about 8: tracing stopped", bw.tail())
    errs = [line for line in bw.err if "cannot write" in line]
    if len(errs) != 1 or "/dev/full" not in errs[0] or \
            "No space left on device" not in errs[0]:
        raise Fail(f"{len(errs)} 'cannot write' lines, expected one naming "
                   "/dev/full and ENOSPC", bw.tail())


# tests/workloads/jit.c hostile: its names, raw, as text shows them, and
# as JSON's strings hold them (bytes that are not UTF-8 as \xNN text).
# No LF in the JIT name (a perf map is lines) nor in the file name
# (/proc/PID/maps writes it \012).
HOSTILE = {
    "comm": (b"\x1b]0;pwned\x07\r\n\xff",
             rb"\x1b]0;pwned\x07\x0d\x0a\xff", "\x1b]0;pwned\x07\r\n\\xff"),
    "thread": (b"jit\x1b[2J\r\xfe", rb"jit\x1b[2J\x0d\xfe",
               "jit\x1b[2J\r\\xfe"),
    "symbol": (b"jit_\x1b]0;map\x07\rforged \xff",
               rb"jit_\x1b]0;map\x07\x0dforged \xff",
               "jit_\x1b]0;map\x07\rforged \\xff"),
    # the binary's file name, so a module path
    "file": (b"jit\x1b[31m\r\xfe", rb"jit\x1b[31m\x0d\xfe",
             "jit\x1b[31m\r\\xfe"),
}


def _raw_problem(what, data):
    """What makes bytes unfit for a terminal, or None: a control byte
    other than LF, DEL, bytes that are not UTF-8."""
    bad = [i for i, b in enumerate(data) if (b < 0x20 and b != 0x0a)
           or b == 0x7f]
    if bad:
        return f"{what}: raw byte {data[bad[0]]:#04x} at {bad[0]}: " \
            f"{data[max(0, bad[0] - 40):bad[0] + 20]!r}"
    try:
        data.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        return f"{what}: not UTF-8: {e}"
    return None


def _now(ctx, *args):
    """blockwatch --now ARGS: (stdout, stderr) as bytes, exit 0."""
    argv = [ctx.cfg.blockwatch, "--now", *map(str, args)]
    try:
        p = subprocess.run(argv, capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        raise Fail(f"{' '.join(argv)}: still running after 10 s")
    if p.returncode != 0:
        raise Fail(f"{' '.join(argv)}: {describe_rc(p.returncode)}",
                   p.stderr.decode("utf-8", "replace").splitlines()[-12:])
    for what, data in (("stdout", p.stdout), ("stderr", p.stderr)):
        problem = _raw_problem(f"--now {' '.join(map(str, args))} {what}",
                               data)
        if problem:
            raise Fail(problem)
    return p.stdout, p.stderr


def _check_json(out, pid, tid, exe):
    """The names of the JSON report, strict JSON and UTF-8, as they were
    chosen (only what is not UTF-8 written as \\xNN)."""
    try:
        r = json.loads(out.decode("utf-8", "strict"), strict=True)
    except ValueError as e:
        raise Fail(f"--now -f json: not strict JSON in UTF-8: {e}",
                   [repr(out[:300])])
    check_report(r, "--now -f json")
    procs = [p for p in r["processes"] if p["pid"] == pid]
    threads = [t for p in procs for t in p["threads"] if t["tid"] == tid]
    if not procs or not threads:
        raise Fail(f"--now -f json: no entry for pid {pid} tid {tid}")
    t = threads[0]
    got = {"comm": procs[0]["comm"], "thread": t["comm"],
           "symbol": (user_stack(t) or [{}])[0].get("symbol"),
           "file": next((os.path.basename(f["module"]) for f in t["stack"]
                         if (f.get("module") or "").startswith(exe)), None)}
    wrong = [f"{k}: {got[k]!r}, expected {HOSTILE[k][2]!r}" for k in got
             if got[k] != HOSTILE[k][2]]
    if wrong:
        raise Fail("--now -f json: names not as chosen", wrong)


def user_stack(t):
    return [f for f in t["stack"] if not f.get("kernel")]


def t_outputs_hostile_names(ctx):
    """A process, its thread, its JIT code and its binary named with
    terminal escapes, CR LF and bytes that are not UTF-8: text and stderr
    show them escaped (\\xNN), nothing raw; JSON is strict and UTF-8, its
    strings as chosen."""
    tmp = tempfile.mkdtemp(prefix="bw-e2e-")
    ctx.tmpdirs.append(tmp)
    exe = os.path.join(os.fsencode(tmp), HOSTILE["file"][0])
    shutil.copy(ctx.cfg.jit, exe)
    w, m = ctx.simple(exe, "jit hostile", r" (0x[0-9a-f]+) (0x[0-9a-f]+)",
                      args=("hostile",))
    pid, tid = int(m.group(1)), int(m.group(2))
    ctx.tmpfiles.append(f"/tmp/perf-{pid}.map")
    out, _ = _now(ctx, "-p", pid)
    want = [b"PID %d (%s)" % (pid, HOSTILE["comm"][1]),
            b"%d  %s " % (tid, HOSTILE["thread"][1]),
            HOSTILE["symbol"][1] + b"+0x", b"(%s)" % HOSTILE["file"][1]]
    missing = [x for x in want if x not in out]
    if missing:
        raise Fail("--now text: not escaped as expected: "
                   + ", ".join(map(repr, missing)),
                   out.decode("utf-8", "replace").splitlines()[:30])
    out, _ = _now(ctx, "-f", "json", "-p", pid)
    _check_json(out, pid, tid, tmp)
    # the stderr lines that name a target: "tracing", "exited"
    bw = ctx.blockwatch("-p", pid, "-i", "60s")
    ctx.tracing(bw)
    w.p.stdin.close()
    rc = w.wait(EXIT_TIMEOUT_S)
    ctx.finish(bw)
    comm = HOSTILE["comm"][1].decode()
    lines = bw.err + bw.out
    raw = [x for x in lines if any(c < " " or c in "\x7f\ufffd" for c in x)]
    if raw:
        raise Fail("tracing: raw control or non-UTF-8 bytes",
                   [repr(x) for x in raw[:5]])
    for want in (f"tracing {pid} ({comm})", f"process {pid} ({comm}) exited"):
        if not any(want in x for x in bw.err):
            raise Fail(f"tracing: no stderr line with {want!r}", bw.tail())
    if rc != 0:
        raise Fail(f"jit hostile: {describe_rc(rc)}", w.tail())


TESTS = [
    ("outputs-several", t_outputs_several),
    ("outputs-write-error", t_outputs_write_error),
    ("outputs-hostile-names", t_outputs_hostile_names),
]
