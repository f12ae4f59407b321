"""`blockwatch top`, the live terminal view, driven in tmux (send-keys,
capture-pane) against tests/workloads/stuck.c's lock chain (known
threads, reasons, owners, fds) and blockers.c's sleeper (a thread that
blocks again and again: its count and total grow): the rows, sorting by
age, total and count, filtering by PID and reason, expanding a row to
its stack, pausing, a resize to 80x24, and the terminal as it was after
q and after Ctrl-C (alternate screen left, cursor visible, the shell's
prompt on the pane). Names that are a terminal's commands reach the
pane escaped. Without a terminal: one line, exit 2."""

import os
import re
import shutil
import signal
import subprocess
import time

from lib.config import EXIT_TIMEOUT_S
from lib.errors import Fail, Skip
from lib.procs import describe_rc

PROMPT = "bwsh$ "
UI_TIMEOUT_S = 30       # until the view shows what the test waits for
TITLE = "blockwatch top"
# a row: PID TID COMM REASON AGE TOTAL COUNT FRAME
ROW = re.compile(r"^\s*(\d+)\s+(\d+|go) (.{15}) (.{10}) +(\S+) +(\S+) +(\d+)"
                 r"(?: (.*))?$")
DUR = re.compile(r"^(?:(\d+)h(\d\d)m|(\d+)m(\d\d)s|([\d.]+)(ns|us|ms|s))$")
UNIT = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}


def dur_ns(text):
    """A duration as bw_fmt_duration writes it, in ns; None for '-'/'?'."""
    m = DUR.match(text)
    if not m:
        return None
    if m.group(1):
        return (int(m.group(1)) * 3600 + int(m.group(2)) * 60) * 1e9
    if m.group(3):
        return (int(m.group(3)) * 60 + int(m.group(4))) * 1e9
    return float(m.group(5)) * UNIT[m.group(6)]


class Tmux:
    """A tmux server of its own with one pane running an interactive
    shell, cols x lines."""

    def __init__(self, cols=120, lines=40):
        if not shutil.which("tmux"):
            raise Skip("tmux is not installed (tools/install-deps.sh)")
        self.sock = f"bw-e2e-{os.getpid()}-{time.monotonic_ns()}"
        env = dict(os.environ, PS1=PROMPT, TERM="xterm-256color")
        env.pop("TMUX", None)
        self.env = env
        try:
            self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "bw",
                      "-x", str(cols), "-y", str(lines),
                      "bash --norc --noprofile -i")
            self.tmux("set-option", "-g", "status", "off")
            self.keys(f"PS1='{PROMPT}'; clear", "Enter")
            self.wait_for(lambda s: s.rstrip() == PROMPT.strip(), 10,
                          "the shell prompt")
        except BaseException:
            self.kill()
            raise

    def tmux(self, *args):
        p = subprocess.run(["tmux", "-L", self.sock, *args], env=self.env,
                           capture_output=True, text=True, timeout=10)
        if p.returncode != 0:
            raise Fail(f"tmux {' '.join(args)}: {p.stderr.strip()}")
        return p.stdout

    def keys(self, *keys, literal=False):
        self.tmux("send-keys", "-t", "bw", *(["-l"] if literal else []), *keys)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "bw")

    def lines(self):
        return self.screen().split("\n")

    def fmt(self, f):
        return self.tmux("display-message", "-p", "-t", "bw", f).strip()

    def wait_for(self, cond, timeout, what):
        end = time.monotonic() + timeout
        last = ""
        while time.monotonic() < end:
            last = self.screen()
            if cond(last):
                return last
            time.sleep(0.2)
        raise Fail(f"the pane did not show {what} within {timeout} s",
                   last.rstrip().split("\n"))

    def kill(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"],
                       capture_output=True, timeout=10)


def rows(screen):
    """[{pid, tid, comm, reason, age, total, count, frame, line}] of the
    rows on the screen, in order, and the lines under each one."""
    out = []
    for i, line in enumerate(screen.split("\n")):
        m = ROW.match(line)
        if m and i > 3:
            out.append({"pid": int(m.group(1)), "tid": m.group(2),
                        "comm": m.group(3).rstrip(),
                        "reason": m.group(4).rstrip(),
                        "age": dur_ns(m.group(5)), "total": dur_ns(m.group(6)),
                        "count": int(m.group(7)), "frame": m.group(8) or "",
                        "line": i, "under": []})
        elif out and line.startswith(" " * 8) and line.strip():
            out[-1]["under"].append(line.strip())
    return out


def start_top(ctx, tm, *args):
    """blockwatch top ARGS in the pane, its exit code echoed after; waits
    for the first rows."""
    cmd = " ".join([ctx.cfg.blockwatch, "top", *map(str, args)])
    tm.keys(f"{cmd}; echo \"rc=$?\"", "Enter")
    return tm.wait_for(lambda s: TITLE in s and "blocked now:" in s
                       and rows(s), UI_TIMEOUT_S, "the view with rows")


def chain(ctx):
    w, pid, tids, _ = ctx.stuck("chain")
    return w, pid, [str(t) for t in tids]


def by_tid(rs):
    return {r["tid"]: r for r in rs}


def check_restored(tm, what):
    """The view gone after @what: the shell's prompt, the alternate
    screen left, the cursor visible, the exit code echoed 0."""
    s = tm.wait_for(lambda s: re.search(r"^rc=\d+", s, re.M), EXIT_TIMEOUT_S,
                    f"the exit code after {what}")
    tm.wait_for(lambda s: s.rstrip().endswith(PROMPT.strip()), 5,
                f"the shell prompt after {what}")
    problems = []
    if TITLE in s and "blocked now:" in s:
        problems.append("the view is still on the pane")
    if tm.fmt("#{alternate_on}") != "0":
        problems.append("the terminal is still in the alternate screen")
    if tm.fmt("#{cursor_flag}") != "1":
        problems.append("the cursor is hidden")
    if tm.fmt("#{keypad_cursor_flag}") != "0":
        problems.append("the keypad is still in application mode")
    rc = re.search(r"^rc=(\d+)", s, re.M).group(1)
    if rc != "0":
        problems.append(f"exit code {rc}")
    if problems:
        raise Fail(f"after {what}: " + "; ".join(problems),
                   s.rstrip().split("\n"))
    return s


def t_top_rows(ctx):
    """The chain's threads with their reasons, lock owners, what they wait
    on, top frames; the header with the process's totals and drops."""
    w, pid, (t1, t2, t3) = chain(ctx)
    tm = Tmux()
    try:
        s = start_top(ctx, tm, "-p", pid)
        s = tm.wait_for(lambda s: all(t in by_tid(rows(s))
                                      for t in (t1, t2, t3)),
                        UI_TIMEOUT_S, "a row for each chain thread")
        rs = by_tid(rows(s))
        lines = s.split("\n")
        want = {
            t1: ("bw-chain-1", "mutex", f"lock held by TID {t2} (bw-chain-2)"),
            t2: ("bw-chain-2", "mutex", f"lock held by TID {t3} (bw-chain-3)"),
            t3: ("bw-chain-3", "read", "on fd "),
        }
        for tid, (comm, reason, under) in want.items():
            r = rs[tid]
            if (r["pid"], r["comm"], r["reason"]) != (pid, comm, reason):
                raise Fail(f"tid {tid}: pid {r['pid']} comm {r['comm']!r} "
                           f"reason {r['reason']!r}, expected {pid} {comm!r} "
                           f"{reason!r}", lines)
            if not any(x.startswith(under) for x in r["under"]):
                raise Fail(f"tid {tid}: no line under it starting {under!r}",
                           lines)
            if r["count"] != 1 or r["age"] is None:
                raise Fail(f"tid {tid}: count {r['count']}, age {r['age']}",
                           lines)
        if "pipe:[" not in rs[t3]["under"][0]:
            raise Fail("bw-chain-3 is not shown waiting on a pipe", lines)
        if not rs[t3]["frame"].startswith("bw_chain_3 stuck.c:"):
            raise Fail(f"bw-chain-3's top frame {rs[t3]['frame']!r}, expected "
                       "bw_chain_3 stuck.c:LINE", lines)
        if f"PID {pid} (stuck)" not in lines[0]:
            raise Fail("the title does not name the target", lines)
        if not re.match(r"blocked now: \d+ threads\s+dropped 0", lines[1]):
            raise Fail("no totals and drops on the second line", lines)
        if not re.match(rf"PID {pid} stuck: \d+ blocked", lines[2]):
            raise Fail("no per-process totals on the third line", lines)
        tm.keys("q")
        check_restored(tm, "q")
    finally:
        tm.kill()
    if not w.running():
        raise Fail(f"workload gone: {describe_rc(w.wait(0))}", w.tail())


def ordered(rs, key):
    """Where rows are not sorted by key (descending), or None. Equal
    counts go by age; equal totals on the screen may differ below what
    it shows, so their ages say nothing."""
    for a, b in zip(rs, rs[1:]):
        ka, kb = (a[key] or 0,), (b[key] or 0,)
        if key == "count":
            ka, kb = ka + (a["age"] or 0,), kb + (b["age"] or 0,)
        if ka < kb:
            return f"tid {a['tid']} ({key} {a[key]}) above tid {b['tid']} " \
                f"({key} {b[key]})"
    return None


def t_top_sort_pause(ctx):
    """a, t, c: the rows in order of age, total and count (the sleeper,
    which blocks again and again, first by count); space pauses the view
    (the same screen a second later) and resumes it."""
    w, pid, (t1, t2, t3) = chain(ctx)
    ws, spid, stid = ctx.workload("sleep", 700, 60)
    ws.send("go\n")
    stid = str(stid)
    tm = Tmux()
    try:
        start_top(ctx, tm, "-p", f"{pid},{spid}")
        tm.keys("c")
        s = tm.wait_for(lambda s: "sort count" in s.split("\n")[0] and
                        stid in by_tid(rows(s)) and
                        by_tid(rows(s))[stid]["count"] >= 3, UI_TIMEOUT_S,
                        "the sleeper's row with a count of 3 or more")
        rs = rows(s)
        if rs[0]["tid"] != stid:
            raise Fail(f"sorted by count, the first row is tid "
                       f"{rs[0]['tid']}, expected the sleeper {stid}",
                       s.split("\n"))
        for key, title in (("count", "sort count"), ("total", "sort total"),
                           ("age", "sort age")):
            if key != "count":
                tm.keys(key[0])
                s = tm.wait_for(lambda s: title in s.split("\n")[0], 5, title)
            problem = ordered(rows(s), key)
            if problem:
                raise Fail(f"{title}: {problem}", s.split("\n"))
        rs = rows(s)
        if rs[-1]["tid"] == t1 or rs[0]["tid"] == stid:
            raise Fail("sorted by age, the sleeper is not below the chain",
                       s.split("\n"))
        tm.keys("Space")
        s1 = tm.wait_for(lambda s: "PAUSED" in s, 5, "PAUSED")
        time.sleep(2.2)
        s2 = tm.screen()
        if s1.split("\n")[0] != s2.split("\n")[0] or rows(s1) != rows(s2):
            raise Fail("paused, the view changed", s1.split("\n")[:8]
                       + ["--- 2.2 s later:"] + s2.split("\n")[:8])
        tm.keys("Space")
        tm.wait_for(lambda s: "PAUSED" not in s and
                    s.split("\n")[0] != s1.split("\n")[0], 5,
                    "the view going on after a second space")
        tm.keys("q")
        check_restored(tm, "q")
    finally:
        tm.kill()


def t_top_filter_expand(ctx):
    """p PID and r REASON show only the matching rows (an empty answer
    shows all again); Enter expands the selected row to its whole stack
    and collapses it again; a target that exits is said on the status
    line, and on stderr once the view has ended."""
    w, pid, (t1, t2, t3) = chain(ctx)
    ws, spid, stid = ctx.workload("sleep", 30000, 1)
    ws.send("go\n")
    tm = Tmux()
    try:
        start_top(ctx, tm, "-p", f"{pid},{spid}")
        tm.wait_for(lambda s: str(stid) in by_tid(rows(s)) and
                    t3 in by_tid(rows(s)), UI_TIMEOUT_S,
                    "rows of both processes")
        tm.keys("p")
        tm.keys(str(spid), literal=True)
        tm.keys("Enter")
        s = tm.wait_for(lambda s: f"pid={spid}" in s.split("\n")[0], 5,
                        f"pid={spid} in the title")
        rs = rows(s)
        if not rs or any(r["pid"] != spid for r in rs):
            raise Fail(f"filtered by pid {spid}: rows of "
                       f"{sorted({r['pid'] for r in rs})}", s.split("\n"))
        tm.keys("p", "Enter")
        tm.keys("r")
        tm.keys("mutex", literal=True)
        tm.keys("Enter")
        s = tm.wait_for(lambda s: "reason~mutex" in s.split("\n")[0], 5,
                        "reason~mutex in the title")
        got = sorted(r["tid"] for r in rows(s))
        if got != sorted([t1, t2]) or any(r["reason"] != "mutex"
                                          for r in rows(s)):
            raise Fail(f"filtered by reason mutex: tids {got}, expected "
                       f"{sorted([t1, t2])}", s.split("\n"))
        tm.keys("r", "Enter")
        s = tm.wait_for(lambda s: "reason~" not in s.split("\n")[0] and
                        t3 in by_tid(rows(s)), 5, "every row again")
        # select bw-chain-3 and expand it
        index = [r["tid"] for r in rows(s)].index(t3)
        tm.keys("Home")
        for _ in range(index):
            tm.keys("j")
        tm.keys("Enter")
        s = tm.wait_for(lambda s: t3 in by_tid(rows(s)) and
                        any("start_thread" in x
                            for x in by_tid(rows(s))[t3]["under"]),
                        5, "bw-chain-3's stack under its row")
        under = by_tid(rows(s))[t3]["under"]
        for want in ("read", "bw_chain_3+0x", "(stuck) stuck.c:",
                     "(libc.so.6)"):
            if not any(want in x for x in under):
                raise Fail(f"expanded: no frame with {want!r}",
                           s.split("\n"))
        others = [r for r in rows(s) if r["tid"] != t3
                  and any("start_thread" in x for x in r["under"])]
        if others:
            raise Fail(f"tid {others[0]['tid']} expanded too", s.split("\n"))
        tm.keys("Enter")
        tm.wait_for(lambda s: not any("start_thread" in x
                                      for r in rows(s) for x in r["under"]),
                    5, "the stack folded again")
        # a message goes to the status line, not over the screen
        ws.kill()
        gone = f"process {spid} (blockers) exited"
        s = tm.wait_for(lambda s: gone in s, 10, repr(gone))
        lines = s.split("\n")
        on = [i for i, x in enumerate(lines) if gone in x]
        if on != [len(lines) - 1] and on != [len(lines) - 2]:
            raise Fail(f"{gone!r} on lines {on}, expected the status line "
                       "alone", lines)
        if not lines[0].startswith(TITLE) or t3 not in by_tid(rows(s)):
            raise Fail("the message disturbed the screen", lines)
        tm.keys("q")
        s = check_restored(tm, "q")
        if f"blockwatch: {gone}" not in s:
            raise Fail("the message is not written out after the view",
                       s.split("\n"))
    finally:
        tm.kill()


def t_top_resize(ctx):
    """From 120x40 to 80x24 while running: the view redrawn to the new
    size (title on top, the status line at the bottom, rows cut at 80
    columns), then back."""
    w, pid, (t1, t2, t3) = chain(ctx)
    tm = Tmux(120, 40)
    try:
        start_top(ctx, tm, "-p", pid)
        tm.keys("a")  # a key clears a message off the status line
        s = tm.wait_for(lambda s: "q quit" in s, 5, "the keys' help")
        if "q quit" not in s.split("\n")[39]:
            raise Fail("at 120x40 the status line is not line 40",
                       s.split("\n"))
        tm.tmux("resize-window", "-t", "bw", "-x", "80", "-y", "24")
        s = tm.wait_for(lambda s: len(s.split("\n")) >= 24 and
                        "q quit" in s.split("\n")[23], 5,
                        "the status line on line 24")
        lines = s.split("\n")
        if tm.fmt("#{pane_width}x#{pane_height}") != "80x24":
            raise Fail(f"pane {tm.fmt('#{pane_width}x#{pane_height}')}")
        if not lines[0].startswith(TITLE) or "TOP FRAME" not in lines[3]:
            raise Fail("at 80x24: no title or column header", lines)
        if not all(t in by_tid(rows(s)) for t in (t1, t2, t3)):
            raise Fail("at 80x24: not every chain thread has a row", lines)
        if any(len(x) > 80 for x in lines):
            raise Fail("at 80x24: a line longer than 80 columns", lines)
        if any("q quit" in x for x in lines[4:23]):
            raise Fail("at 80x24: the old status line is left over", lines)
        tm.tmux("resize-window", "-t", "bw", "-x", "100", "-y", "30")
        tm.wait_for(lambda s: len(s.split("\n")) >= 30 and
                    "q quit" in s.split("\n")[29], 5,
                    "the status line on line 30 after growing")
        tm.keys("q")
        check_restored(tm, "q")
    finally:
        tm.kill()


def t_top_ctrl_c(ctx):
    """Ctrl-C ends the view like q: exit 0, the terminal as it was, and
    what was said on stderr while it was up written out after."""
    w, pid, _ = chain(ctx)
    tm = Tmux(80, 24)
    try:
        start_top(ctx, tm, "-p", pid)
        tm.keys("C-c")
        s = check_restored(tm, "Ctrl-C")
        if f"blockwatch: tracing {pid} (stuck)" not in s:
            raise Fail("the 'tracing' line is not on the terminal after the "
                       "view", s.split("\n"))
    finally:
        tm.kill()


def t_top_fatal_signal(ctx):
    """A fatal signal (SIGABRT, as a crash would be) while the view is up:
    the handler puts the terminal back before the process dies of it."""
    w, pid, _ = chain(ctx)
    tm = Tmux(80, 24)
    try:
        start_top(ctx, tm, "-p", pid)
        shell = int(tm.fmt("#{pane_pid}"))
        with open(f"/proc/{shell}/task/{shell}/children") as f:
            kids = [int(x) for x in f.read().split()]
        bw = [k for k in kids
              if os.path.realpath(f"/proc/{k}/exe") ==
              os.path.realpath(ctx.cfg.blockwatch)]
        if len(bw) != 1:
            raise Fail(f"blockwatch is not the one child of the pane's shell "
                       f"({kids})")
        os.kill(bw[0], signal.SIGABRT)
        s = tm.wait_for(lambda s: re.search(r"^rc=\d+", s, re.M),
                        EXIT_TIMEOUT_S, "the exit code after SIGABRT")
        rc = re.search(r"^rc=(\d+)", s, re.M).group(1)
        if rc != str(128 + signal.SIGABRT):
            raise Fail(f"exit code {rc}, expected {128 + signal.SIGABRT} "
                       "(died of SIGABRT)", s.split("\n"))
        problems = []
        if tm.fmt("#{alternate_on}") != "0":
            problems.append("the terminal is still in the alternate screen")
        if tm.fmt("#{cursor_flag}") != "1":
            problems.append("the cursor is hidden")
        if TITLE in s and "blocked now:" in s:
            problems.append("the view is still on the pane")
        if problems:
            raise Fail("after SIGABRT: " + "; ".join(problems),
                       s.split("\n"))
        # the terminal's modes too: the shell echoes what is typed
        tm.keys("echo ok-$((6*7))", "Enter")
        tm.wait_for(lambda s: "ok-42" in s and "echo ok-$((6*7))" in s, 5,
                    "the shell echoing a command line")
    finally:
        tm.kill()


def t_top_go(ctx):
    """A Go process: its goroutine groups as rows (TID go, COUNT the
    goroutines, the blocking site as top frame, the channel under it),
    one expanded to its frames and where it was created."""
    from test_go import start_go
    w, pid = start_go(ctx, "default", "-send", "50", "-cap", "4",
                      "-recv", "7")
    tm = Tmux()
    try:
        start_top(ctx, tm, "-p", pid, "-t", "50ms")
        site = "main.(*OrderService).CreateOrder goroutines.go:"

        def send_group(s):
            return next((r for r in rows(s) if r["tid"] == "go" and
                         r["reason"] == "chan send" and r["count"] == 50),
                        None)
        s = tm.wait_for(send_group, UI_TIMEOUT_S,
                        "a row of 50 goroutines in chan send")
        r = send_group(s)
        if not r["frame"].startswith(site):
            raise Fail(f"the group's top frame {r['frame']!r}, expected "
                       f"{site}LINE", s.split("\n"))
        if not any("chan 0x" in x and "4/4" in x and "50 sending" in x
                   for x in r["under"]):
            raise Fail("no channel (4/4 full, 50 sending) under the group",
                       s.split("\n"))
        if not any(x["tid"] == "go" and x["reason"] == "chan recei" and
                   x["count"] == 7 for x in rows(s)):
            raise Fail("no row of 7 goroutines in chan receive",
                       s.split("\n"))
        if not re.search(rf"PID {pid} goroutines: \d+ blocked, \d+ goroutines",
                         s.split("\n")[2]):
            raise Fail("no goroutine total for the process in the header",
                       s.split("\n"))
        tm.keys("r")
        tm.keys("chan send", literal=True)
        tm.keys("Enter", "Home", "Enter")
        s = tm.wait_for(lambda s: send_group(s) and
                        any(x.startswith("created by main.spawnSend")
                            for x in send_group(s)["under"]), 5,
                        "the group expanded")
        under = send_group(s)["under"]
        if not any("(runtime)" in x for x in under) or \
                not any(x.startswith(site) for x in under):
            raise Fail("expanded: not the runtime's frames and the blocking "
                       "site", s.split("\n"))
        tm.keys("q")
        check_restored(tm, "q")
    finally:
        tm.kill()


def t_top_hostile_names(ctx):
    """A process and thread named with terminal escapes and bytes that are
    not UTF-8: the pane shows them escaped (\\xNN), its title is not set
    by them, the screen is not cleared by them."""
    from test_outputs import HOSTILE
    import tempfile
    tmp = tempfile.mkdtemp(prefix="bw-e2e-")
    ctx.tmpdirs.append(tmp)
    exe = os.path.join(os.fsencode(tmp), HOSTILE["file"][0])
    shutil.copy(ctx.cfg.jit, exe)
    w, m = ctx.simple(exe, "jit hostile", r" (0x[0-9a-f]+) (0x[0-9a-f]+)",
                      args=("hostile",))
    pid, tid = int(m.group(1)), int(m.group(2))
    ctx.tmpfiles.append(f"/tmp/perf-{pid}.map")
    tm = Tmux()
    try:
        before = tm.fmt("#{pane_title}")
        start_top(ctx, tm, "-p", pid)
        comm = HOSTILE["comm"][1].decode()
        thread = HOSTILE["thread"][1].decode()
        s = tm.wait_for(lambda s: str(tid) in by_tid(rows(s)), UI_TIMEOUT_S,
                        f"a row for tid {tid}")
        lines = s.split("\n")
        if f"PID {pid} ({comm}" not in lines[0]:
            raise Fail(f"the title does not show the process name as "
                       f"{comm!r}", lines)
        if not thread.startswith(by_tid(rows(s))[str(tid)]["comm"]):
            raise Fail(f"the thread's COMM is not {thread!r} (cut)", lines)
        if "pwned" in tm.fmt("#{pane_title}") or \
                tm.fmt("#{pane_title}") != before:
            raise Fail("the process's name set the terminal's title",
                       [tm.fmt("#{pane_title}")])
        tm.keys("q")
        check_restored(tm, "q")
    finally:
        tm.kill()


def t_top_no_terminal(ctx):
    """top without a terminal: stdout a pipe, or stdin not a terminal:
    one line, exit 2, nothing on stdout."""
    for what, stdin in (("stdout", None), ("stdin", subprocess.DEVNULL)):
        argv = [ctx.cfg.blockwatch, "top"]
        if what == "stdin":
            # stdout a terminal of tmux, stdin /dev/null
            tm = Tmux(80, 24)
            try:
                tm.keys(f"{argv[0]} top < /dev/null; echo \"rc=$?\"", "Enter")
                s = tm.wait_for(lambda s: re.search(r"^rc=\d+", s, re.M),
                                EXIT_TIMEOUT_S, "the exit code")
            finally:
                tm.kill()
            lines = [x for x in s.split("\n") if x.startswith("blockwatch:")]
            rc = re.search(r"^rc=(\d+)", s, re.M).group(1)
            if rc != "2" or len(lines) != 1 or "stdin is not one" not in \
                    lines[0]:
                raise Fail(f"stdin not a terminal: exit {rc}, expected 2 "
                           "and one line naming stdin", s.split("\n"))
            continue
        p = subprocess.run(argv, capture_output=True, timeout=EXIT_TIMEOUT_S,
                           stdin=stdin)
        err = p.stderr.decode("utf-8", "replace").splitlines()
        if p.returncode != 2 or p.stdout or len(err) != 1 or \
                not err[0].startswith("blockwatch: top needs a terminal: "
                                      "stdout is not one"):
            raise Fail(f"stdout a pipe: {describe_rc(p.returncode)}, "
                       f"stdout {p.stdout[:80]!r}, stderr {err}")


TESTS = [
    ("top-rows", t_top_rows),
    ("top-sort-pause", t_top_sort_pause),
    ("top-filter-expand", t_top_filter_expand),
    ("top-resize", t_top_resize),
    ("top-ctrl-c", t_top_ctrl_c),
    ("top-fatal-signal", t_top_fatal_signal),
    ("top-go", t_top_go),
    ("top-hostile-names", t_top_hostile_names),
    ("top-no-terminal", t_top_no_terminal),
]
