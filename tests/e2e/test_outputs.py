"""Outputs: several sinks in one run (-f FORMAT[:FILE], repeatable), and a
write error that is reported once while tracing goes on."""

import os
import tempfile

from lib.errors import Fail
from lib.reports import entries, parse_reports, show_entries, symbols


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


TESTS = [
    ("outputs-several", t_outputs_several),
    ("outputs-write-error", t_outputs_write_error),
]
