"""A process on a pseudo-terminal (Python's pty module): TtyProc, whose
stdin, stdout and stderr are the terminal, as in an ssh session, and
render(), a small terminal that replays what it wrote: what the lines on
the screen (and in its scrollback) end up as."""

import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import termios
import threading
import time


class TtyProc:
    """argv on a new pty of cols x rows; every byte it writes is kept
    (self.data). Killed by kill(), as a Proc is (Ctx.cleanup)."""

    def __init__(self, argv, name, env=None, cols=120, rows=40):
        self.name = name
        self.argv = argv
        master, slave = pty.openpty()
        fcntl.ioctl(master, termios.TIOCSWINSZ,
                    struct.pack("HHHH", rows, cols, 0, 0))
        self.master = master
        self.data = b""
        self._cv = threading.Condition()
        self._eof = False
        self.p = subprocess.Popen(argv, stdin=slave, stdout=slave,
                                  stderr=slave, env=env,
                                  start_new_session=True)
        os.close(slave)
        self.pid = self.p.pid
        self.started = time.monotonic()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            try:
                d = os.read(self.master, 4096)
            except OSError:     # EIO: every slave fd is closed
                d = b""
            with self._cv:
                if not d:
                    self._eof = True
                    self._cv.notify_all()
                    return
                self.data += d
                self._cv.notify_all()

    def wait_for(self, pattern, timeout):
        """The first match of the bytes regex in what it wrote, or None."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                m = rx.search(self.data)
                if m or self._eof:
                    return m
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cv.wait(left)

    def wait(self, timeout):
        """Exit code, or None if still running after timeout; then the
        rest of its output."""
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._reader.join(5)
        return rc

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.pid, sig)

    def running(self):
        return self.p.poll() is None

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._reader.join(5)
        try:
            os.close(self.master)
        except OSError:
            pass

    def tail(self, n=12):
        lines = render(self.data)
        return [f"{self.name} on a terminal ({len(lines)} lines):"] + [
            "  " + repr(x) for x in lines[-n:]]


CSI = re.compile(r"\x1b\[([0-9;]*)([A-Za-z])")


def render(data):
    """The lines a terminal shows for data (a line feed, a carriage
    return, erase to the end of the line, plain characters overwriting
    where the cursor is): a list of str, the last the line the cursor is
    on. Any other escape sequence is an error (ValueError): blockwatch
    uses no other."""
    lines, cur, col = [], [], 0
    i = 0
    text = data.decode("utf-8", "replace")
    while i < len(text):
        c = text[i]
        if c == "\n":
            lines.append("".join(cur))
            cur, col = [], 0
        elif c == "\r":
            col = 0
        elif c == "\x1b":
            m = CSI.match(text, i)
            if not m or m.group(2) != "K" or m.group(1) not in ("", "0"):
                raise ValueError(f"escape sequence {text[i:i + 8]!r}")
            del cur[col:]
            i = m.end()
            continue
        else:
            if col < len(cur):
                cur[col] = c
            else:
                cur.extend(" " * (col - len(cur)))
                cur.append(c)
            col += 1
        i += 1
    lines.append("".join(cur))
    return lines
