"""Process control: Proc (a child whose output is collected by line),
describe_rc, and Ctx, the per-test context that starts the workloads and
blockwatch and kills whatever a test left running.

A Ctx is made fresh for each test (lib.runner.run_one). It reaches the
run's shared state through ctx.run (a lib.runner.Run: -v, caches) and the
configuration through ctx.cfg (a lib.config.Config: binary paths); the
failures a test defers (ctx.deferred) are its own.
"""

import os
import re
import shutil
import signal
import subprocess
import threading
import time

from .config import EXIT_TIMEOUT_S, READY_TIMEOUT_S, SETTLE_S, START_TIMEOUT_S
from .errors import Fail


class Proc:
    """A child in its own process group whose output is collected by line."""

    def __init__(self, argv, name, stdin=False):
        self.name = name
        self.argv = argv
        self.out = []
        self.err = []
        self._eof = {"out": False, "err": False}
        self._cv = threading.Condition()
        self.p = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        self.pid = self.p.pid
        self.started = time.monotonic()
        self._readers = [
            threading.Thread(target=self._read, args=(self.p.stdout, "out"),
                             daemon=True),
            threading.Thread(target=self._read, args=(self.p.stderr, "err"),
                             daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _read(self, f, which):
        lines = self.out if which == "out" else self.err
        for raw in iter(f.readline, b""):
            with self._cv:
                lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cv.notify_all()
        with self._cv:
            self._eof[which] = True
            self._cv.notify_all()

    def wait_line(self, which, pattern, timeout):
        """First line of stdout/stderr matching the regex, or None."""
        rx = re.compile(pattern)
        lines = self.out if which == "out" else self.err
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cv:
            while True:
                for line in lines[seen:]:
                    m = rx.search(line)
                    if m:
                        return m
                seen = len(lines)
                left = deadline - time.monotonic()
                if left <= 0 or self._eof[which]:
                    return None
                self._cv.wait(left)

    def send(self, text):
        try:
            self.p.stdin.write(text.encode())
            self.p.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise Fail(f"{self.name}: cannot write to stdin: {e}",
                       self.tail())

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout):
        """Exit code, or None if still running after timeout."""
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for t in self._readers:
            t.join(5)
        return rc

    def running(self):
        return self.p.poll() is None

    def kill(self):
        if self.p.poll() is None:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.killpg(self.pid, sig)
                except ProcessLookupError:
                    pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            if f:
                try:
                    f.close()
                except OSError:
                    pass

    def stdout_text(self):
        with self._cv:
            return "\n".join(self.out)

    def tail(self, n=12):
        with self._cv:
            err = list(self.err)
        head = [f"{self.name} stderr ({len(err)} lines):"]
        if len(err) > n:
            head.append(f"  ... {len(err) - n} lines before")
        return head + ["  " + line for line in err[-n:]]


def describe_rc(rc):
    if rc is None:
        return "still running"
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit code {rc}"


# tests/workloads/stacks.c: the modes it has a blocked thread for, and
# the order of the TIDs in its "ready PID TID..." line (see Ctx.stacks).
STACK_MODES = ["mutex", "condvar", "epoll", "pipe", "sleep"]
STACK_THREADS = STACK_MODES + ["deep"]   # "ready PID TID..." order


class Ctx:
    """Per-test bookkeeping: every process started is killed at the end.
    run: the lib.runner.Run the test belongs to."""

    def __init__(self, run):
        self.run = run
        self.cfg = run.cfg
        self.deferred = []      # failures that let the test go on: run_one
        self.procs = []
        self.tmpfiles = []
        self.tmpdirs = []

    def spawn(self, argv, name, stdin=False):
        p = Proc(argv, name, stdin)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            p.kill()
        for f in self.tmpfiles:
            try:
                os.unlink(f)
            except OSError:
                pass
        for d in self.tmpdirs:
            shutil.rmtree(d, ignore_errors=True)

    # -- workload

    def workload(self, *args, env=()):
        # env(1) execs the workload: the pid stays the same
        prefix = ["env", *env] if env else []
        w = self.spawn([*prefix, self.cfg.blockers, *map(str, args)],
                       "blockers", stdin=True)
        m = w.wait_line("out", r"^ready (\d+) (\d+)$", READY_TIMEOUT_S)
        if not m:
            raise Fail(f"workload did not print 'ready' "
                       f"({describe_rc(w.wait(1))})", w.tail())
        return w, int(m.group(1)), int(m.group(2))

    def stuck(self, mode):
        """Starts tests/workloads/stuck.c in mode; returns (proc, pid, tids,
        (since, until)): the wall-clock span in which its threads blocked."""
        since = time.time()
        w = self.spawn([self.cfg.stuck, mode], "stuck", stdin=True)
        m = w.wait_line("out", r"^ready (\d+)((?: \d+)+)$", READY_TIMEOUT_S)
        if not m:
            raise Fail(f"stuck {mode} did not print 'ready' "
                       f"({describe_rc(w.wait(1))})", w.tail())
        time.sleep(SETTLE_S)
        return (w, int(m.group(1)), [int(x) for x in m.group(2).split()],
                (since, time.time()))

    def stacks(self, variant="nofp", path=None, prefix=()):
        """Starts tests/workloads/stacks.c (build/tests/stacks_VARIANT, or
        path); returns (proc, pid, {mode: tid})."""
        path = path or self.cfg.stacks[variant]
        if not prefix and not os.access(path, os.X_OK):
            raise Fail(f"not built: {path}")
        w = self.spawn([*prefix, path], "stacks", stdin=True)
        m = w.wait_line("out", r"^ready (\d+)((?: \d+){%d})$"
                        % len(STACK_THREADS), READY_TIMEOUT_S)
        if not m:
            raise Fail(f"stacks did not print 'ready' "
                       f"({describe_rc(w.wait(1))})", w.tail())
        time.sleep(SETTLE_S)
        tids = dict(zip(STACK_THREADS, map(int, m.group(2).split())))
        return w, int(m.group(1)), tids

    def stacks_go(self, w):
        """'go' to stacks: its sleep thread sleeps 300 ms, then for good."""
        w.send("go\n")
        if not w.wait_line("out", r"^sleeping$", 10):
            raise Fail("stacks did not print 'sleeping' "
                       f"({describe_rc(w.wait(0))})", w.tail())

    def simple(self, path, name, extra=r"", args=()):
        """Starts a workload (path ARGS) that prints "ready PID TID[ EXTRA]";
        returns (proc, match)."""
        if not os.access(path, os.X_OK):
            raise Fail(f"not built: {path}")
        w = self.spawn([path, *args], name, stdin=True)
        m = w.wait_line("out", rf"^ready (\d+) (\d+){extra}$",
                        READY_TIMEOUT_S)
        if not m:
            raise Fail(f"{name} did not print 'ready' "
                       f"({describe_rc(w.wait(1))})", w.tail())
        time.sleep(SETTLE_S)
        return w, m

    def go(self, w, timeout):
        w.send("go\n")
        if not w.wait_line("out", r"^done$", timeout):
            raise Fail(f"workload did not print 'done' within {timeout} s "
                       f"({describe_rc(w.wait(0))})", w.tail())
        rc = w.wait(EXIT_TIMEOUT_S)
        if rc != 0:
            raise Fail(f"workload: {describe_rc(rc)}", w.tail())

    # -- blockwatch

    def blockwatch(self, *args, name="blockwatch", prefix=()):
        return self.spawn([*prefix, self.cfg.blockwatch, *map(str, args)],
                          name)

    def tracing(self, bw):
        if not bw.wait_line("err", r"^blockwatch: tracing", START_TIMEOUT_S):
            rc = bw.wait(0)
            raise Fail("no 'blockwatch: tracing' line within "
                       f"{START_TIMEOUT_S} s ({describe_rc(rc)})", bw.tail())
        return time.monotonic()

    def finish(self, bw, timeout=EXIT_TIMEOUT_S, expect_rc=0):
        rc = bw.wait(timeout)
        if rc is None:
            raise Fail(f"blockwatch still running {timeout} s after it "
                       "should have exited", bw.tail())
        if rc != expect_rc:
            raise Fail(f"blockwatch: {describe_rc(rc)}, expected exit code "
                       f"{expect_rc}", bw.tail())
        if self.run.verbose:
            for line in bw.tail(40):
                print("# " + line)
        return rc
