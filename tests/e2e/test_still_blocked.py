"""Threads still blocked: a thread asleep before blockwatch started,
tests/workloads/stuck.c's deadlock, lock chains (plain and PI) and one
thread per wait kind, checked against what /proc says each waits on, in
interval reports and with --now (JSON and text); --now system-wide and on
500 threads."""

import datetime
import re
import signal
import time

from lib.config import EXIT_TIMEOUT_S, MS
from lib.errors import Fail
from lib.procs import describe_rc
from lib.reports import (entries, now_report, now_text, ongoing_by_tid,
                         parse_reports, show_entries, show_waits, symbols,
                         wait_reports)
from lib.truth import age_problem, detail_truth_problem


def t_preexisting(ctx):
    """A thread asleep before blockwatch starts: shown as ongoing with its
    age measured from when it went to sleep (within 5%)."""
    w, pid, tid = ctx.workload("sleep", 5000, 1)
    w.send("go\n")
    go_at = time.time()
    time.sleep(1.5)
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "1s", "-d", "1.5s",
                        "-f", "json")
    ctx.tracing(bw)
    ctx.finish(bw)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    details = []
    found = 0
    for i, r in enumerate(reports):
        when = datetime.datetime.strptime(
            r["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        truth = (when - go_at) * 1e9
        for _, proc, t in entries([r], pid=pid, tid=tid):
            details.append(f"report {i + 1}: ongoing={t.get('ongoing')} "
                           f"age_ns={t.get('age_ns')} blocked_ns="
                           f"{t['blocked_ns']} truth={truth:.0f}")
            if not t.get("ongoing"):
                continue
            found += 1
            if abs(t["age_ns"] - truth) > 0.05 * truth:
                raise Fail("age not within 5% of the truth", details)
            if t["blocked_ns"] != t["age_ns"]:
                raise Fail("ongoing blocked_ns is not the age", details)
            if t["interval_blocked_ns"] > r["interval_ns"]:
                raise Fail("interval_blocked_ns > interval_ns", details)
            if "bw_block_sleep" not in symbols(t):
                raise Fail("bw_block_sleep not in the stack", details)
    if found < 2:
        raise Fail(f"{found} ongoing entries, expected one per report",
                   details + bw.tail())


def is_mutex_lock(sym):
    # pthread_mutex_lock, __pthread_mutex_lock, and for PI mutexes (a tail
    # call away) __pthread_mutex_lock_full
    return bool(sym) and re.fullmatch(r"_*pthread_mutex_lock(_full)?", sym)


def check_lock_wait(r, pid, t, owner, owner_comm, func, owner_entry):
    """An ongoing entry of a thread in pthread_mutex_lock() in func,
    waiting for owner's lock; owner_entry: the owner's own ongoing entry
    if it is blocked too."""
    def bad(what):
        raise Fail(f"tid {t['tid']} ({t['comm']}): {what}", show_waits(r, pid))
    if t["reason"] != "mutex":
        bad(f"reason {t['reason']!r}, expected 'mutex'")
    if t.get("lock_owner") != owner:
        bad(f"lock_owner {t.get('lock_owner')!r}, expected {owner}")
    if t.get("lock_owner_comm") != owner_comm:
        bad(f"lock_owner_comm {t.get('lock_owner_comm')!r}, expected "
            f"{owner_comm!r}")
    if func not in symbols(t):
        bad(f"{func} not in the stack")
    if not any(is_mutex_lock(x) for x in symbols(t)):
        bad("no pthread_mutex_lock in the stack")
    if (t.get("detail") or {}).get("kind") != "mutex":
        bad("detail.kind is not 'mutex'")
    problem = detail_truth_problem(pid, t["tid"], t)
    if problem:
        bad(problem)
    ob = t.get("lock_owner_blocked_ns")
    if owner_entry is None:
        if ob is not None:
            bad(f"lock_owner_blocked_ns {ob} for an owner not blocked")
    elif ob is None:
        bad(f"no lock_owner_blocked_ns, though owner {owner} is blocked")
    elif abs(ob - owner_entry["age_ns"]) > 50 * MS:
        bad(f"lock_owner_blocked_ns {ob}, but the owner's own age_ns is "
            f"{owner_entry['age_ns']}")


def check_ages(ctx, r, pid, tids, span):
    """Ongoing entries of tids: age within the truth. A wrong age fails
    the test only once it has run to its end (ctx.deferred), so that it
    hides none of the other checks."""
    ong = ongoing_by_tid(r, pid)
    for tid in tids:
        problem = age_problem(r, ong[tid], span)
        if problem:
            ctx.deferred.append(Fail(
                f"tid {tid} ({ong[tid]['comm']}): {problem}",
                show_waits(r, pid)))
            return


def forever_end(ctx, w):
    """'go' to stuck forever: it must report no signal, no EINTR and no
    wake-up of its blocked threads, then exit 0."""
    w.send("go\n")
    m = w.wait_line("out", r"^signals (\d+) eintr (\d+)$", 10)
    m2 = w.wait_line("out", r"^wakeups (\d+)$", 1)
    if not m or not m2 or not w.wait_line("out", r"^done$", 1):
        raise Fail(f"workload did not finish ({describe_rc(w.wait(1))})",
                   w.tail() + ["stdout:", w.stdout_text()])
    rc = w.wait(EXIT_TIMEOUT_S)
    if rc != 0:
        raise Fail(f"workload: {describe_rc(rc)}", w.tail())
    if m.group(1) != "0" or m.group(2) != "0":
        raise Fail(f"the target saw signals or EINTR: {m.group(0)!r}")
    if m2.group(1) != "0":
        raise Fail(f"the blocked threads were woken: {m2.group(0)!r}")


def check_abba(ctx, reports, pid, t1, t2, span):
    """Both ABBA threads blocked in pthread_mutex_lock, each on the
    other's lock, and the cycle listed in every report that has both."""
    listed = 0
    for r in reports:
        cycles = [set(c) for c in r["deadlocks"]]
        if any(c != {t1, t2} for c in cycles):
            raise Fail(f"a deadlock other than {{{t1}, {t2}}}",
                       show_waits(r, pid))
        ong = ongoing_by_tid(r, pid)
        if t1 not in ong or t2 not in ong:
            continue
        if {t1, t2} not in cycles:
            raise Fail("report shows both ABBA threads blocked but no "
                       "deadlock", show_waits(r, pid))
        listed += 1
        check_lock_wait(r, pid, ong[t1], t2, "bw-abba-2", "bw_abba_1",
                        ong[t2])
        check_lock_wait(r, pid, ong[t2], t1, "bw-abba-1", "bw_abba_2",
                        ong[t1])
        check_ages(ctx, r, pid, (t1, t2), span)
    if not listed:
        raise Fail("no report with both ABBA threads still blocked",
                   [x for r in reports for x in show_waits(r, pid)])


def t_deadlock(ctx):
    w, pid, (t1, t2), span = ctx.stuck("deadlock")
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "1s", "-d", "2500ms",
                        "-f", "json")
    ctx.tracing(bw)
    ctx.finish(bw, timeout=10)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    if len(reports) < 2:
        raise Fail(f"{len(reports)} reports for -i 1s -d 2500ms")
    check_abba(ctx, reports, pid, t1, t2, span)
    if not w.running():
        raise Fail(f"workload gone: {describe_rc(w.wait(0))}", w.tail())


def t_deadlock_now(ctx):
    w, pid, (t1, t2), span = ctx.stuck("deadlock")
    time.sleep(0.2)  # past the threshold
    r = now_report(ctx, "-p", pid)
    check_abba(ctx, [r], pid, t1, t2, span)
    out, details = now_text(ctx, "-p", pid)
    lines = out.splitlines()
    dl = [i for i, x in enumerate(lines) if x.startswith("DEADLOCK:")]
    if len(dl) != 1:
        raise Fail(f"{len(dl)} lines starting with 'DEADLOCK:', expected 1",
                   details)
    if not all(re.search(rf"\b{t}\b", lines[dl[0]]) for t in (t1, t2)):
        raise Fail("the DEADLOCK line does not name both TIDs", details)
    first_pid = next((i for i, x in enumerate(lines)
                      if x.startswith(f"PID {pid} ")), None)
    if first_pid is None or dl[0] > first_pid:
        raise Fail("DEADLOCK line not above the process list", details)
    for t, o, c in ((t1, t2, "bw-abba-2"), (t2, t1, "bw-abba-1")):
        if f"waiting for lock held by TID {o} ({c}), blocked itself for" \
                not in out:
            raise Fail(f"no 'waiting for lock held by TID {o} ({c}), blocked "
                       "itself for' line", details)
    if not w.running():
        raise Fail(f"workload gone: {describe_rc(w.wait(0))}", w.tail())


def check_chain(ctx, r, pid, tids, span):
    """T1 waits for T2's lock, T2 for T3's, T3 reads a pipe; no cycle."""
    t1, t2, t3 = tids
    if any(set(c) & set(tids) for c in r["deadlocks"]):
        raise Fail("deadlock reported for a lock chain", show_waits(r, pid))
    ong = ongoing_by_tid(r, pid)
    missing = [t for t in tids if t not in ong]
    if missing:
        raise Fail(f"no ongoing entry for {missing}", show_waits(r, pid))
    check_lock_wait(r, pid, ong[t1], t2, "bw-chain-2", "bw_chain_1", ong[t2])
    check_lock_wait(r, pid, ong[t2], t3, "bw-chain-3", "bw_chain_2", ong[t3])
    e3 = ong[t3]
    problem = None
    if e3["reason"] != "read":
        problem = f"reason {e3['reason']!r}, expected 'read'"
    elif not (e3.get("detail") or {}).get("target", "").startswith("pipe:["):
        problem = "detail.target is not a pipe"
    elif e3.get("lock_owner") is not None:
        problem = "lock_owner on a pipe read"
    elif "bw_chain_3" not in symbols(e3):
        problem = "bw_chain_3 not in the stack"
    problem = problem or detail_truth_problem(pid, t3, e3)
    if problem:
        raise Fail(f"tid {t3} (bw-chain-3): {problem}", show_waits(r, pid))
    check_ages(ctx, r, pid, tids, span)


def check_unwound(reports, pid, tids, since, woken):
    """After the chain unwound: one finished entry per thread, with the
    owner it slept on; its parts in all reports add up to the block's
    time since `since` (monotonic: its start, or tracing's if later)."""
    t1, t2, t3 = tids
    for tid, owner in ((t1, t2), (t2, t3), (t3, None)):
        mine = list(entries(reports, pid=pid, tid=tid))
        done = [t for _, _, t in mine if not t.get("ongoing")]
        details = ["entries:"] + show_entries(mine) + [
            f"  lock_owner: {[t.get('lock_owner') for _, _, t in mine]}"]
        if len(done) != 1 or done[0]["count"] != 1:
            raise Fail(f"tid {tid}: {len(done)} finished entries, expected "
                       "one with count 1", details)
        if done[0].get("lock_owner") != owner:
            raise Fail(f"tid {tid}: finished entry's lock_owner "
                       f"{done[0].get('lock_owner')!r}, expected {owner}",
                       details)
        # every report's own part (still-blocked entries' blocked_ns is
        # their age; interval_blocked_ns is the part in that report)
        total = sum(t["interval_blocked_ns"] for _, _, t in mine)
        truth = (woken - since) * 1e9
        if abs(total - truth) > 0.05 * truth + 100 * MS:
            raise Fail(f"tid {tid}: blocked_ns adds up to {total}, expected "
                       f"~{truth:.0f} (+-5% +-100 ms)", details)


def t_chain(ctx):
    """A lock chain formed while blockwatch traces (system-wide, since the
    workload does not exist yet): blocks seen from their start."""
    bw = ctx.blockwatch("-t", "100ms", "-i", "1s", "-f", "json")
    ctx.tracing(bw)
    w, pid, tids, span = ctx.stuck("chain")
    ready = time.monotonic()
    t1, t2, t3 = tids
    n = len(bw.out)
    wait_reports(bw, n + 2, 10)
    standing = parse_reports("\n".join(bw.out[n:n + 2]),
                             expect_threshold=100 * MS)
    for r in standing:
        check_chain(ctx, r, pid, tids, span)
    out, details = now_text(ctx, "-p", pid)
    for t, o, c in ((t1, t2, "bw-chain-2"), (t2, t3, "bw-chain-3")):
        if f"waiting for lock held by TID {o} ({c}), blocked itself for" \
                not in out:
            raise Fail(f"text: no 'waiting for lock held by TID {o} ({c}), "
                       "blocked itself for'", details)
    if "DEADLOCK" in out:
        raise Fail("text: DEADLOCK for a lock chain", details)
    woken = time.monotonic()
    ctx.go(w, 10)  # the chain unwinds
    time.sleep(0.2)
    bw.signal(signal.SIGINT)
    ctx.finish(bw)
    check_unwound(parse_reports(bw.stdout_text(), expect_threshold=100 * MS),
                  pid, tids, ready, woken)


def t_chain_pi(ctx):
    """A PI lock chain formed before blockwatch starts: --now, then traced
    while it unwinds (blocks adopted from the snapshot)."""
    w, pid, tids, span = ctx.stuck("chain-pi")
    time.sleep(0.2)
    r = now_report(ctx, "-p", pid)
    check_chain(ctx, r, pid, tids, span)
    ong = ongoing_by_tid(r, pid)
    for t in tids[:2]:
        op = ong[t]["detail"]["op"]
        if not op.startswith("FUTEX_LOCK_PI"):
            raise Fail(f"tid {t}: detail.op {op!r}, expected FUTEX_LOCK_PI*",
                       show_waits(r, pid))
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "1s", "-f", "json")
    t0 = ctx.tracing(bw)
    wait_reports(bw, 1, 10)
    woken = time.monotonic()
    ctx.go(w, 10)
    ctx.finish(bw)
    check_unwound(parse_reports(bw.stdout_text(), expect_threshold=100 * MS),
                  pid, tids, t0, woken)


FOREVER = [  # stuck forever: (comm, reason, function), in "ready" order
    ("bw-epoll-sock", "epoll", "bw_forever_epoll"),
    ("bw-pipe-forever", "read", "bw_forever_pipe"),
    ("bw-poll", "poll", "bw_forever_poll"),
    ("bw-select", "poll", "bw_forever_select"),
    ("bw-accept", "accept", "bw_forever_accept"),
    ("bw-recv", "read", "bw_forever_recv"),
    ("bw-write", "write", "bw_forever_write"),
    ("bw-connect", "connect", "bw_forever_connect"),
    ("bw-sem", "futex", "bw_forever_sem"),
    ("bw-wait", "wait", "bw_forever_wait"),
]


def check_forever(ctx, r, pid, tids, span, which):
    """The ongoing entries of the stuck-forever threads named in which:
    reason, function, age, and the detail against /proc."""
    ong = ongoing_by_tid(r, pid)
    for tid, (comm, reason, func) in zip(tids, FOREVER):
        if comm not in which:
            continue
        t = ong.get(tid)
        problem = None
        if t is None:
            problem = "no ongoing entry"
        elif t["comm"] != comm:
            problem = f"comm {t['comm']!r}"
        elif t["reason"] != reason:
            problem = f"reason {t['reason']!r}, expected {reason!r}"
        elif func not in symbols(t):
            problem = f"{func} not in the stack"
        elif t.get("lock_owner") is not None:
            problem = "lock_owner on a wait that is not a lock"
        problem = problem or detail_truth_problem(pid, tid, t)
        if problem:
            raise Fail(f"tid {tid} ({comm}): {problem}", show_waits(r, pid))
    check_ages(ctx, r, pid, [tid for tid, (comm, _, _) in zip(tids, FOREVER)
                             if comm in which], span)


def t_epoll_detail(ctx):
    w, pid, tids, span = ctx.stuck("forever")
    which = ("bw-epoll-sock", "bw-pipe-forever")
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "1s", "-d", "2s",
                        "-f", "json")
    ctx.tracing(bw)
    ctx.finish(bw, timeout=10)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    if len(reports) < 2:
        raise Fail(f"{len(reports)} reports for -i 1s -d 2s")
    for r in reports + [now_report(ctx, "-p", pid)]:
        check_forever(ctx, r, pid, tids, span, which)
        ong = ongoing_by_tid(r, pid)
        if not any(o["target"].startswith("socket:[")
                   for o in ong[tids[0]]["detail"]["fds"]):
            raise Fail("no socket in the epoll entry's fds",
                       show_waits(r, pid))
        if not ong[tids[1]]["detail"]["target"].startswith("pipe:["):
            raise Fail("the pipe reader's target is not a pipe",
                       show_waits(r, pid))
    forever_end(ctx, w)


def t_wait_kinds(ctx):
    """Every wait kind of stuck forever, with --now, against /proc."""
    w, pid, tids, span = ctx.stuck("forever")
    time.sleep(0.2)
    r = now_report(ctx, "-p", pid)
    check_forever(ctx, r, pid, tids, span, [c for c, _, _ in FOREVER])
    main = ongoing_by_tid(r, pid).get(pid)  # main reads its stdin pipe
    if not main or main["reason"] != "read" or detail_truth_problem(
            pid, pid, main):
        raise Fail("main thread: not a read of its stdin pipe",
                   show_waits(r, pid))
    forever_end(ctx, w)


def t_now_system_wide(ctx):
    w, pid, tids, span = ctx.stuck("chain")
    time.sleep(0.2)
    r = now_report(ctx, timeout=10)
    bw_pids = [p.pid for p in ctx.procs if p.name == "blockwatch"]
    own = [e for p in bw_pids for e in entries([r], pid=p)]
    if own:
        raise Fail("blockwatch reports itself", show_entries(own))
    check_chain(ctx, r, pid, tids, span)
    ctx.go(w, 10)


def t_now_many(ctx):
    n = 500
    w, pid, _ = ctx.workload("many", n, 2500, 1)
    w.send("go\n")
    time.sleep(0.6)  # all asleep, 2 s of sleep left
    r = now_report(ctx, "-p", pid)
    mine = {t["tid"]: t for _, _, t in entries([r], pid=pid)
            if t["comm"] == "bw-many"}
    bad = [t for t in mine.values() if t["reason"] != "sleep"
           or "bw_block_sleep" not in symbols(t)]
    if len(mine) != n or bad:
        raise Fail(f"{len(mine)} bw-many threads in the snapshot, expected "
                   f"{n}; {len(bad)} not asleep in bw_block_sleep",
                   show_entries((0, {"pid": pid, "comm": "blockers"}, t)
                                for t in bad[:5]))
    if not w.wait_line("out", r"^done$", 10):
        raise Fail("workload did not finish", w.tail())


TESTS = [
    ("still-blocked-preexisting", t_preexisting),
    ("deadlock-abba", t_deadlock),
    ("deadlock-now", t_deadlock_now),
    ("chain", t_chain),
    ("chain-pi-now", t_chain_pi),
    ("epoll-socket-detail", t_epoll_detail),
    ("wait-kinds-now", t_wait_kinds),
    ("now-no-target", t_now_system_wide),
    ("now-many-threads", t_now_many),
]
