"""Blocks that end: a worker of tests/workloads/blockers.c blocked a known
time in a known function (mutex, condvar, epoll, pipe, sleep; the raw_tp
fallback; threads without rseq), and the modes around it: threshold,
interval splitting, several -p targets, system-wide, --top, -o, text
output, SIGINT/SIGTERM (BPF programs gone after exit), -d, ring-buffer
overflow."""

import os
import re
import shutil
import signal
import tempfile
import time

from lib.config import EXIT_TIMEOUT_S, MS, TOLERANCE
from lib.errors import Fail, Skip
from lib.procs import describe_rc
from lib.reports import entries, parse_reports, show_entries, symbols, within
from lib.truth import bpf_prog_names, prog_ids_of


EXPECTED_REASON = {
    "mutex": "mutex",
    "condvar": "condvar",
    "epoll": "epoll",
    "pipe": "read",
    "sleep": "sleep",
}


def check_worker(reports, pid, tid, mode, blocks, ms, details):
    """One entry for the worker: reason, count, time, stack symbol."""
    mine = list(entries(reports, pid=pid, tid=tid))
    details += ["worker entries:"] + show_entries(mine)
    details += [f"above_threshold_count {[r.get('above_threshold_count') for r in reports]} "
                f"below {[(r.get('below_threshold_count'), r.get('below_threshold_ns')) for r in reports]} "
                f"dropped {[r['dropped'] for r in reports]}",
                "all entries:"] + show_entries(entries(reports, pid=pid))
    if len(mine) != 1:
        raise Fail(f"{len(mine)} entries for worker tid {tid}, expected 1",
                   details)
    _, proc, t = mine[0]
    want = EXPECTED_REASON[mode]
    func = f"bw_block_{mode}"
    if proc["comm"] != "blockers":
        raise Fail(f"process comm {proc['comm']!r}, expected 'blockers'",
                   details)
    if t["comm"] != f"bw-{mode}":
        raise Fail(f"thread comm {t['comm']!r}, expected 'bw-{mode}'",
                   details)
    if t["reason"] != want:
        raise Fail(f"reason {t['reason']!r}, expected {want!r}", details)
    if t["count"] != blocks:
        raise Fail(f"count {t['count']}, expected {blocks}", details)
    if not within(t["blocked_ns"], blocks * ms * MS):
        raise Fail(f"blocked_ns {t['blocked_ns']}, expected "
                   f"{blocks * ms} ms +-10%", details)
    if not within(t["max_ns"], ms * MS):
        raise Fail(f"max_ns {t['max_ns']}, expected {ms} ms +-10%", details)
    if func not in symbols(t):
        raise Fail(f"{func} not in the stack", details)
    details.append(f"detail {t.get('detail')!r} lock_owner "
                   f"{t.get('lock_owner')!r} ({t.get('lock_owner_comm')!r})")
    if mode == "mutex":
        # main (tid == pid) holds the mutex through each block
        if t.get("lock_owner") != pid:
            raise Fail(f"lock_owner {t.get('lock_owner')!r}, expected the "
                       f"main thread {pid}", details)
        if t.get("lock_owner_comm") != "blockers":
            raise Fail(f"lock_owner_comm {t.get('lock_owner_comm')!r}, "
                       "expected 'blockers'", details)
    elif t.get("lock_owner") is not None:
        raise Fail(f"lock_owner on a {mode} wait", details)
    # The process has exited when the report is made: a detail from /proc
    # may be missing (null), but what there is must be right.
    d = t.get("detail")
    if d and mode in ("mutex", "condvar") and d.get("kind") != mode:
        raise Fail(f"detail.kind {d.get('kind')!r}, expected {mode!r}",
                   details)
    if d and mode == "pipe" and not d["target"].startswith("pipe:["):
        raise Fail("detail.target is not a pipe", details)
    if d and mode == "epoll" and not any(
            o["target"].startswith("socket:[") for o in d["fds"]):
        raise Fail("no socket among the epoll set's fds", details)


def exited_line(bw, pid):
    m = bw.wait_line("err", rf"^blockwatch: process {pid} \((.*)\) exited$",
                     0)
    if not m:
        raise Fail(f"no 'blockwatch: process {pid} (blockers) exited' line",
                   bw.tail())
    if m.group(1) != "blockers":
        raise Fail(f"exited line names comm {m.group(1)!r}, expected "
                   "'blockers'", bw.tail())


def t_mode(ctx, mode, extra=()):
    w, pid, tid = ctx.workload(mode, 600, 2)
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "60s", "-f", "json",
                        *extra)
    ctx.tracing(bw)
    ctx.go(w, 10)
    ctx.finish(bw)
    exited_line(bw, pid)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    check_worker(reports, pid, tid, mode, 2, 600, bw.tail(6))


NO_RSEQ = ["GLIBC_TUNABLES=glibc.pthread.rseq=0"]


def t_no_rseq(ctx, syscall_exit):
    """Threads glibc did not register with rseq: full stacks with
    --syscall-exit, else the block is kept and its missing stack counted."""
    w, pid, tid = ctx.workload("sleep", 400, 2, env=NO_RSEQ)
    extra = ["--syscall-exit"] if syscall_exit else []
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "60s", "-f", "json",
                        *extra)
    ctx.tracing(bw)
    ctx.go(w, 10)
    ctx.finish(bw)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    if syscall_exit:
        check_worker(reports, pid, tid, "sleep", 2, 400, bw.tail(6))
        return
    mine = list(entries(reports, pid=pid, tid=tid))
    details = ["worker entries:"] + show_entries(mine)
    late = sum(r.get("recovered", {}).get("missed_switch_in", 0) for r in reports)
    # A block whose switch back never reached the tracepoint is closed
    # when the thread exits, with no stack: by then it may have run in
    # user space (no rseq to tell). Its entry is apart, stackless.
    regs_only = [t for _, _, t in mine if len(t["stack"]) == 1 and t["truncated"]]
    stackless = [t for _, _, t in mine if not t["stack"]]
    if (sum(t["count"] for _, _, t in mine) != 2 or len(regs_only) != 1 or
            len(regs_only) + len(stackless) != len(mine) or (stackless and not late)):
        raise Fail("expected one entry with count 2 (or a stackless one beside it "
                   f"for a block closed late: {late} closed late)", details)
    t = regs_only[0]
    total = sum(t["blocked_ns"] for _, _, t in mine)
    if not within(total, 800 * MS) or any(t["reason"] != "sleep" for _, _, t in mine):
        raise Fail("wrong time or reason", details)
    no_stack = sum(r["dropped"]["no_stack"] for r in reports)
    if no_stack < 2:
        raise Fail(f"dropped.no_stack {no_stack}, expected >= 2", details)


def t_multi_pid(ctx):
    w1, pid1, tid1 = ctx.workload("sleep", 300, 1)
    w2, pid2, tid2 = ctx.workload("pipe", 300, 1)
    bw = ctx.blockwatch("-p", f"{pid1},{pid2}", "-t", "100ms", "-i", "60s",
                        "-f", "json")
    ctx.tracing(bw)
    ctx.go(w1, 10)
    time.sleep(0.5)
    if not bw.running():
        raise Fail("blockwatch exited when only one of its two targets "
                   f"had exited ({describe_rc(bw.wait(0))})", bw.tail())
    ctx.go(w2, 10)
    ctx.finish(bw)
    exited_line(bw, pid1)
    exited_line(bw, pid2)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    for pid, tid, func in ((pid1, tid1, "bw_block_sleep"),
                           (pid2, tid2, "bw_block_pipe")):
        mine = list(entries(reports, pid=pid, tid=tid))
        if len(mine) != 1 or func not in symbols(mine[0][2]):
            raise Fail(f"no single {func} entry for pid {pid} tid {tid}",
                       show_entries(entries(reports)) + [
                           "above_threshold_count "
                           f"{[r.get('above_threshold_count') for r in reports]}"
                           f" below {[(r.get('below_threshold_count'), r.get('below_threshold_ns')) for r in reports]}"
                           f" dropped {[r['dropped'] for r in reports]}"])


def t_threshold(ctx):
    w, pid, tid = ctx.workload("sleep", 50, 3)
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "60s", "-f", "json")
    ctx.tracing(bw)
    ctx.go(w, 10)
    ctx.finish(bw)
    exited_line(bw, pid)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    mine = list(entries(reports, pid=pid, tid=tid))
    if mine:
        raise Fail("entries for a worker that never blocked 100 ms",
                   show_entries(mine))


def _sleeps_accounted(reports, pid, tid, kernel, bw=None):
    """Every voluntary switch of the sleeps worker is accounted for: as a
    block past the threshold in its entries, or as one of the process's
    blocks below it. A nanosleep is not always a block of its length: on
    a VM a vCPU can stall between the syscall's entry and the switch
    (seen here with bpftrace: entered, switched out 799 us later, back
    335 us after that, under -t 500us), and the kernel counts that
    switch as voluntary like any other. So the kernel's count bounds the
    entries from above, and with the short blocks from below; a block
    lost anywhere (ring, userspace, a switch never seen) breaks the
    lower bound, since nothing counts it."""
    seen = sum(t["count"] for _, _, t in entries(reports, pid=pid, tid=tid))
    short = sum(r["below_threshold_count"] for r in reports)
    late = sum(r.get("recovered", {}).get("missed_switch_in", 0) for r in reports)
    dropped = {k: sum(r["dropped"][k] for r in reports) for k in reports[0]["dropped"]}
    # the worker is the only thread that blocks briefly: a few stalls,
    # not a twentieth of its sleeps
    if seen > kernel or seen + short < kernel or short > kernel // 20 or any(dropped.values()):
        raise Fail(f"{seen} blocks reported for the thread and {short} below the "
                   f"threshold in the process; the kernel counted {kernel} voluntary "
                   f"switches of the thread; dropped {dropped}; {late} closed late",
                   bw.tail() if bw else ())


def t_every_block(ctx):
    """3,000 sleeps of 1 ms at -t 500us: every voluntary switch the
    kernel counted for the thread is in the report, as a block past the
    threshold or (a sleep stalled before its switch) below it, even
    where a switch back to it never reached the tracepoint (closed late,
    and counted as such)."""
    path = os.path.join(os.path.dirname(ctx.cfg.blockers), "sleeps")
    w = ctx.spawn([path, "3000", "1000"], "sleeps", stdin=True)
    m = w.wait_line("out", r"^ready (\d+) (\d+)$", 10)
    if not m:
        raise Fail(f"sleeps did not start ({describe_rc(w.wait(1))})", w.tail())
    pid, tid = int(m.group(1)), int(m.group(2))
    bw = ctx.blockwatch("-p", pid, "-t", "500us", "-i", "60s", "-f", "json")
    ctx.tracing(bw)
    w.send("go\n")
    sw = w.wait_line("out", r"^switches (\d+)$", 60)
    if not sw or not w.wait_line("out", r"^done$", 5):
        raise Fail("sleeps did not finish", w.tail())
    ctx.finish(bw)
    reports = parse_reports(bw.stdout_text())
    kernel = int(sw.group(1))
    # a sleep whose timer ran out before its switch (a stall) has none
    if kernel < 2900:
        raise Fail(f"only {kernel} voluntary switches for 3000 sleeps")
    _sleeps_accounted(reports, pid, tid, kernel)


def _voluntary(pid):
    """The voluntary context switches of every thread of @pid so far."""
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    n += int(line.split()[1])
    return n


def t_wakeups_batched(ctx, binary="sleeps"):
    """3,000 slow blocks of a process whose mappings blockwatch holds
    (and whose loader it hears) wake it at most every 100 ms, not once a
    record: blockwatch itself sleeps and wakes far fewer times than
    there are records, and still reports every block. The same for a
    static binary, which has no loader to hear (most Go programs)."""
    path = os.path.join(os.path.dirname(ctx.cfg.blockers), binary)
    if not os.access(path, os.X_OK):
        raise Fail(f"not built: {path}")
    w = ctx.spawn([path, "3000", "1000"], "sleeps", stdin=True)
    m = w.wait_line("out", r"^ready (\d+) (\d+)$", 10)
    if not m:
        raise Fail(f"sleeps did not start ({describe_rc(w.wait(1))})", w.tail())
    pid, tid = int(m.group(1)), int(m.group(2))
    bw = ctx.blockwatch("-p", pid, "-t", "500us", "-i", "60s", "-f", "json")
    ctx.tracing(bw)
    before = _voluntary(bw.pid)
    w.send("go\n")
    sw = w.wait_line("out", r"^switches (\d+)$", 60)
    if not sw or not w.wait_line("out", r"^done$", 5):
        raise Fail("sleeps did not finish", w.tail())
    woken = _voluntary(bw.pid) - before
    ctx.finish(bw)
    reports = parse_reports(bw.stdout_text())
    kernel = int(sw.group(1))
    _sleeps_accounted(reports, pid, tid, kernel, bw)
    # ~3.3 s of sleeping: at most ~33 forced wake-ups and as many
    # late reads, plus the status line's and the loop's own
    if woken > kernel // 3:
        raise Fail(f"blockwatch slept and woke {woken} times for {kernel} records")


def t_accounting(ctx):
    """System-wide under process churn: in every report, the blocks the
    kernel side counted past the threshold are exactly those in its
    finished entries plus those it says it lost."""
    w, pid, _ = ctx.workload("many", 20, 25, 8)
    churn = ctx.spawn(["sh", "-c", "for i in $(seq 150); do "
                       "(sleep 0.03; sleep 0.04) & sleep 0.02; done; wait"],
                      "churn")
    bw = ctx.blockwatch("-t", "20ms", "-i", "500ms", "-d", "4s", "-f", "json")
    ctx.tracing(bw)
    w.send("go\n")
    ctx.finish(bw)
    churn.wait(EXIT_TIMEOUT_S)
    reports = parse_reports(bw.stdout_text(), expect_threshold=20 * MS)
    bad = []
    for i, r in enumerate(reports):
        finished = sum(t["count"] for p in r["processes"] for t in p["threads"]
                       if not t["ongoing"])
        lost = r["dropped"]["ringbuf"] + r["dropped"]["userspace"]
        if r["above_threshold_count"] != finished + lost:
            bad.append(f"report {i + 1}: counted {r['above_threshold_count']}, "
                       f"reported {finished}, lost {lost}")
    # Ticks of the interval timer missed while a report is made are one
    # report: on a loaded machine (or a sanitized build) symbolizing the
    # churn's new processes can take more than 500 ms. Three reports are
    # two boundaries crossed by blocks in flight.
    if len(reports) < 3:
        raise Fail(f"{len(reports)} reports in 4 s at -i 500ms", bw.tail())
    if bad:
        raise Fail(f"{len(bad)} of {len(reports)} reports do not add up", bad)
    if sum(r["above_threshold_count"] for r in reports) < 160:
        raise Fail("too few blocks past the threshold to tell: "
                   f"{[r['above_threshold_count'] for r in reports]}")


def t_split(ctx):
    w, pid, tid = ctx.workload("sleep", 2500, 1)
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "1s", "-f", "json")
    ctx.tracing(bw)
    ctx.go(w, 10)
    ctx.finish(bw)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    mine = list(entries(reports, pid=pid, tid=tid))
    details = [f"{len(reports)} reports, interval_ns: "
               + ", ".join(str(r["interval_ns"]) for r in reports),
               "worker entries:"] + show_entries(mine)
    if len(reports) < 3:
        raise Fail(f"{len(reports)} reports for a ~3 s run with -i 1s",
                   details)
    for i, _, t in mine:
        # 5 ms for timer jitter between the interval and its accounting
        if t["interval_blocked_ns"] > reports[i]["interval_ns"] + 5 * MS:
            raise Fail(f"report {i + 1}: interval_blocked_ns {t['interval_blocked_ns']} > "
                       f"interval_ns {reports[i]['interval_ns']}", details)
    # each report counts its own part: ongoing ones by interval_blocked_ns
    total = sum(t["interval_blocked_ns"] for _, _, t in mine)
    if total > 2500 * MS * (1 + TOLERANCE):
        raise Fail(f"sum of blocked_ns {total} > 2.5 s + 10%", details)
    if total < 2500 * MS * (1 - TOLERANCE):
        raise Fail(f"sum of blocked_ns {total} < 2.5 s - 10%", details)
    if len({i for i, _, _ in mine}) < 2:
        raise Fail("a 2.5 s block in one report only, with -i 1s", details)


def t_system_wide(ctx):
    w, pid, tid = ctx.workload("sleep", 600, 2)
    bw = ctx.blockwatch("-t", "100ms", "-i", "2s", "-d", "4s", "-f", "json")
    ctx.tracing(bw)
    ctx.go(w, 10)
    ctx.finish(bw, timeout=10)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    if len(reports) < 2:
        raise Fail(f"{len(reports)} reports for -i 2s -d 4s")
    own = list(entries(reports, pid=bw.pid))
    if own:
        raise Fail("blockwatch reports itself", show_entries(own))
    mine = list(entries(reports, pid=pid, tid=tid))
    details = ["worker entries:"] + show_entries(mine)
    if not mine:
        pids = sorted({p["pid"] for r in reports for p in r["processes"]})
        raise Fail(f"no entry for the workload (pid {pid} tid {tid}); "
                   f"pids seen: {pids[:40]}")
    for _, proc, t in mine:
        if t["reason"] != "sleep" or "bw_block_sleep" not in symbols(t):
            raise Fail("worker entry is not reason 'sleep' in "
                       "bw_block_sleep", details)
    total = sum(t["interval_blocked_ns"] for _, _, t in mine)
    if not within(total, 1200 * MS):
        raise Fail(f"worker blocked_ns sums to {total}, expected "
                   "1200 ms +-10%", details)
    if max(t["max_ns"] for _, _, t in mine) > 600 * MS * (1 + TOLERANCE):
        raise Fail("max_ns above 600 ms +10%", details)


def t_system_wide_pidns(ctx):
    """blockwatch in a PID namespace of its own (a container without the
    host's): the blocks of a process in it, by its pid there, with its
    stack; nothing of a process outside it, whose pid its /proc would not
    know."""
    outside, opid, _ = ctx.workload("sleep", 400, 3)
    # the namespace's init outlives the workload: its end would kill
    # everything in the namespace, blockwatch too
    w = ctx.spawn(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                   "sh", "-c", '"$0" "$@"; exec sleep 60', ctx.cfg.blockers, "sleep", "400",
                   "3"], "blockers-ns", stdin=True)
    m = w.wait_line("out", r"^ready (\d+) (\d+)$", 10)
    if not m:
        raise Fail("the workload in the new namespace did not print 'ready'", w.tail())
    nspid, nstid = int(m.group(1)), int(m.group(2))
    with open(f"/proc/{w.pid}/task/{w.pid}/children") as f:
        host = int(f.read().split()[0])
    if host == nspid:
        raise Fail(f"the workload has pid {nspid} inside and outside its namespace")
    # its mount namespace: the /proc of its PID namespace
    bw = ctx.blockwatch("-t", "100ms", "-i", "1s", "-d", "3s", "-f", "json",
                        prefix=["nsenter", "-t", str(host), "-p", "-m", "--"])
    if not bw.wait_line("err", r"^blockwatch: tracing all processes; .*own PID namespace\]",
                        10):
        raise Fail("no 'tracing ... own PID namespace' line", bw.tail())
    w.send("go\n")
    outside.send("go\n")
    ctx.finish(bw, timeout=10)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    pids = sorted({p["pid"] for r in reports for p in r["processes"]})
    mine = list(entries(reports, pid=nspid, tid=nstid))
    if not mine:
        raise Fail(f"no entry for pid {nspid} tid {nstid} of the namespace; pids: {pids}")
    for _, _, t in mine:
        if t["reason"] != "sleep" or "bw_block_sleep" not in symbols(t):
            raise Fail("its entry is not reason 'sleep' in bw_block_sleep",
                       show_entries(mine))
    strays = [p for p in pids if p in (opid, host) or p > 50]
    if strays:
        raise Fail(f"pids of the host's namespace reported: {strays} (outside workload "
                   f"{opid}, the inside one's host pid {host})")


def t_top(ctx):
    w, pid, _ = ctx.workload("sleep", 300, 6)
    bw = ctx.blockwatch("-t", "100ms", "-i", "1s", "-d", "3s", "--top", 1,
                        "-f", "json")
    ctx.tracing(bw)
    w.send("go\n")
    ctx.finish(bw, timeout=10)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    counts = [len(r["processes"]) for r in reports]
    if len(reports) < 2:
        raise Fail(f"{len(reports)} reports for -i 1s -d 3s")
    if max(counts) > 1:
        raise Fail(f"processes per report: {counts}, expected at most 1")
    if max(counts) < 1:
        raise Fail("no process at all in any report while the workload "
                   "was blocking")


def t_output_file(ctx):
    fd, path = tempfile.mkstemp(prefix="bw-e2e-", suffix=".json")
    os.close(fd)
    ctx.tmpfiles.append(path)
    w, pid, tid = ctx.workload("sleep", 300, 1)
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "60s", "-f", "json",
                        "-o", path)
    ctx.tracing(bw)
    ctx.go(w, 10)
    ctx.finish(bw)
    if bw.stdout_text().strip():
        raise Fail("stdout not empty with -o: "
                   f"{bw.stdout_text()[:120]!r}")
    with open(path, encoding="utf-8", errors="replace") as f:
        reports = parse_reports(f.read(), where=path)
    mine = list(entries(reports, pid=pid, tid=tid))
    if len(mine) != 1 or "bw_block_sleep" not in symbols(mine[0][2]):
        raise Fail("no single bw_block_sleep entry for the worker in the "
                   "file", show_entries(mine))


def t_text(ctx):
    w, pid, tid = ctx.workload("sleep", 300, 1)
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "60s")
    ctx.tracing(bw)
    ctx.go(w, 10)
    ctx.finish(bw)
    out = bw.stdout_text()
    details = ["stdout:"] + ["  " + line for line in out.splitlines()[:40]]
    if not re.search(rf"\b{tid}\b", out):
        raise Fail(f"worker tid {tid} not in the text report", details)
    if "bw_block_sleep" not in out:
        raise Fail("bw_block_sleep not in the text report", details)
    if out.lstrip().startswith("{"):
        raise Fail("default format looks like JSON", details)


def t_signal(ctx, sig):
    if not shutil.which("bpftool"):
        raise Skip("bpftool not installed")
    bw = ctx.blockwatch("-t", "100ms", "-i", "60s", "-f", "json")
    ctx.tracing(bw)
    time.sleep(1)
    ours = prog_ids_of(bw.pid)
    names = bpf_prog_names()
    bw.signal(sig)
    ctx.finish(bw, timeout=10)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    if len(reports) != 1:
        raise Fail(f"{len(reports)} reports, expected the final one only")
    if not ours:
        raise Fail("blockwatch held no BPF program fd while tracing")
    unnamed = [f"{i} {names.get(i, '?')}" for i in sorted(ours)
               if not names.get(i, "").startswith("bw_")]
    if unnamed:
        raise Fail("BPF programs not named bw_*: " + ", ".join(unnamed))
    # Programs are freed asynchronously (RCU) after the last reference.
    deadline = time.monotonic() + 10
    while True:
        left = ours & set(bpf_prog_names())
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if left:
        raise Fail("BPF programs still loaded 10 s after exit: "
                   + ", ".join(f"{i} {names.get(i, '?')}"
                               for i in sorted(left)))
    # Any other bw_* program must belong to a blockwatch still running
    # (or one that is just starting or exiting: look twice).
    stray = None
    for _ in range(2):
        held = set()
        for d in os.listdir("/proc"):
            if d.isdigit():
                held |= prog_ids_of(int(d))
        now = {i: n for i, n in bpf_prog_names().items()
               if n.startswith("bw_") and i not in held}
        stray = now if stray is None else {
            i: n for i, n in now.items() if i in stray}
        if not stray:
            break
        time.sleep(2)
    if stray:
        raise Fail("bw_* programs loaded but held by no process (pinned "
                   "or leaked): " + ", ".join(f"{i} {n}" for i, n in
                                              sorted(stray.items())))


def t_duration(ctx):
    bw = ctx.blockwatch("-d", "2s", "-f", "json")
    t0 = ctx.tracing(bw)
    ctx.finish(bw, timeout=10)
    took = time.monotonic() - t0
    if not 1.8 <= took <= 3.5:
        raise Fail(f"-d 2s ran for {took:.2f} s after 'tracing'")
    parse_reports(bw.stdout_text())


def t_overflow(ctx):
    nthreads, ms, repeat = 40, 20, 5
    w, pid, _ = ctx.workload("many", nthreads, ms, repeat)
    bw = ctx.blockwatch("-p", pid, "-t", "10ms", "--ringbuf-size", "64K",
                        "-i", "60s", "-f", "json")
    ctx.tracing(bw)
    bw.signal(signal.SIGSTOP)
    try:
        ctx.go(w, 10)
    finally:
        bw.signal(signal.SIGCONT)
    ctx.finish(bw)
    reports = parse_reports(bw.stdout_text(), expect_threshold=10 * MS)
    dropped = sum(r["dropped"]["ringbuf"] for r in reports)
    sleeps = [e for e in entries(reports, pid=pid)
              if e[2]["reason"] == "sleep"]
    seen = sum(t["count"] for _, _, t in sleeps)
    details = [f"dropped: {[r['dropped'] for r in reports]}",
               "above_threshold_count (kernel): "
               f"{[r.get('above_threshold_count') for r in reports]}",
               f"{len(sleeps)} sleep entries, count sum {seen}",
               "entries of the workload:"] + show_entries(
                   entries(reports, pid=pid))
    if ctx.run.verbose:
        for line in details:
            print("# " + line)
    if dropped <= 0:
        raise Fail("dropped.ringbuf is 0 although the reader was stopped",
                   details)
    # Exact accounting against what the kernel side counted: every block
    # it saw past the threshold is either reported or counted as dropped.
    kernel = sum(r["above_threshold_count"] for r in reports)
    everything = sum(t["count"] for _, _, t in entries(reports, pid=pid)
                     if not t.get("ongoing"))
    if everything + dropped != kernel:
        raise Fail(f"reported {everything} + dropped {dropped} != "
                   f"{kernel} blocks counted in the kernel", details)
    # Against the workload: a 20 ms nanosleep whose timer fires while the
    # thread is preempted just before schedule() never sleeps (run-queue
    # delay, rightly not a block); that is rare, so allow 5%.
    if seen + dropped < nthreads * repeat * 0.95:
        raise Fail(f"reported {seen} + dropped {dropped} < 95% of "
                   f"{nthreads * repeat} blocks", details)


def t_records_sized(ctx):
    """A record is as long as the stack it carries: with --stack-size 64K
    a record of 17 full pages is larger than a 64K ring buffer and could
    never be written; a thread a few calls deep has only a page or two
    above its stack pointer, so several records fit while the reader is
    stopped, each with its whole stack."""
    nthreads, ms = 8, 20
    w, pid, _ = ctx.workload("many", nthreads, ms, 1)
    bw = ctx.blockwatch("-p", pid, "-t", "10ms", "--ringbuf-size", "64K",
                        "--stack-size", "64K", "-i", "60s", "-f", "json")
    ctx.tracing(bw)
    bw.signal(signal.SIGSTOP)
    try:
        ctx.go(w, 10)
    finally:
        bw.signal(signal.SIGCONT)
    ctx.finish(bw)
    reports = parse_reports(bw.stdout_text(), expect_threshold=10 * MS)
    dropped = sum(r["dropped"]["ringbuf"] for r in reports)
    sleeps = [e for e in entries(reports, pid=pid)
              if e[2]["reason"] == "sleep" and not e[2].get("ongoing")]
    seen = sum(t["count"] for _, _, t in sleeps)
    details = [f"dropped: {dropped}, reported: {seen}"] + show_entries(
        entries(reports, pid=pid))
    if seen < 4:
        raise Fail(f"{seen} of {nthreads} records fit a 64K ring buffer "
                   "(a record sized to --stack-size fits none)", details)
    if seen + dropped != nthreads:
        raise Fail(f"reported {seen} + dropped {dropped} != {nthreads}",
                   details)
    for _, _, t in sleeps:
        if "bw_block_sleep" not in symbols(t) or t.get("truncated"):
            raise Fail("a record's stack lost its frames", details)


TESTS = [(f"block-{mode}", lambda c, m=mode: t_mode(c, m))
         for mode in EXPECTED_REASON] + [
    ("block-mutex-raw-tp", lambda c: t_mode(c, "mutex", ["--force-raw-tp"])),
    ("block-sleep-no-rseq-syscall-exit", lambda c: t_no_rseq(c, True)),
    ("block-sleep-no-rseq-counted", lambda c: t_no_rseq(c, False)),
    ("multi-pid", t_multi_pid),
    ("threshold", t_threshold),
    ("every-block", t_every_block),
    ("wakeups-batched", t_wakeups_batched),
    ("wakeups-batched-static", lambda c: t_wakeups_batched(c, "sleeps_static")),
    ("accounting-system-wide", t_accounting),
    ("split-intervals", t_split),
    ("system-wide", t_system_wide),
    ("system-wide-pidns", t_system_wide_pidns),
    ("top", t_top),
    ("output-file", t_output_file),
    ("text-format", t_text),
    ("sigint", lambda c: t_signal(c, signal.SIGINT)),
    ("sigterm", lambda c: t_signal(c, signal.SIGTERM)),
    ("duration", t_duration),
    ("ringbuf-overflow", t_overflow),
    ("ringbuf-records-sized", t_records_sized),
]
