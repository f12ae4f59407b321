"""The command line: -h and -V, and the error exits (one "blockwatch: "
line on stderr, nothing on stdout, the documented exit code), not root
included; outputs left as they were by a run that fails; closed standard
fds; -p targets that cannot be traced, and one that can (a process whose
main thread has exited)."""

import os
import re
import shlex
import shutil
import subprocess
import tempfile

import time

from lib.config import EXIT_TIMEOUT_S, START_TIMEOUT_S
from lib.errors import Fail, Skip
from lib.procs import describe_rc
from lib.reports import entries, parse_reports


def t_error(ctx, args, want_rc, prefix=(), binary=None, want_msg=None):
    """want_msg: a regex the stderr line must match, past "blockwatch: "."""
    if binary:
        bw = ctx.spawn([*prefix, binary, *map(str, args)], "blockwatch")
    else:
        bw = ctx.blockwatch(*args, prefix=prefix)
    rc = bw.wait(EXIT_TIMEOUT_S)
    if rc is None:
        raise Fail(f"still running after {EXIT_TIMEOUT_S} s, expected exit "
                   f"code {want_rc}", bw.tail())
    if rc != want_rc:
        raise Fail(f"{describe_rc(rc)}, expected {want_rc}", bw.tail())
    lines = [line for line in bw.err if line.strip()]
    if len(lines) != 1 or not lines[0].startswith("blockwatch: "):
        raise Fail(f"{len(lines)} stderr lines, expected exactly one "
                   "starting with 'blockwatch: '", bw.tail())
    if want_msg and not re.search(want_msg, lines[0]):
        raise Fail(f"stderr line does not match {want_msg!r}", bw.tail())
    if bw.stdout_text().strip():
        raise Fail("output on stdout on failure",
                   [bw.stdout_text()[:200]])


def t_info(ctx, opt):
    bw = ctx.blockwatch(opt)
    rc = bw.wait(EXIT_TIMEOUT_S)
    if rc != 0:
        raise Fail(f"{describe_rc(rc)}, expected 0", bw.tail())
    if not bw.stdout_text().strip():
        raise Fail(f"nothing on stdout for {opt}", bw.tail())


def t_not_root(ctx):
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise Skip("setpriv not installed")
    prefix = (setpriv, "--reuid=nobody", "--regid=nogroup",
              "--clear-groups", "--inh-caps=-all")
    # nobody may not be able to reach the build directory (a checkout
    # under /root): run a copy from a directory anyone can enter
    tmp = tempfile.mkdtemp(prefix="bw-nobody-")
    os.chmod(tmp, 0o755)
    copy = os.path.join(tmp, "blockwatch")
    shutil.copy2(ctx.cfg.blockwatch, copy)
    os.chmod(copy, 0o755)
    try:
        t_error(ctx, ["-d", "2s"], 4, prefix=prefix, binary=copy)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def t_btf_bad(ctx, kind, want_msg):
    """--btf on what is no BTF file: one clear line, exit 5, no hang (a
    FIFO with no writer blocks a plain open or read for good)."""
    tmp = tempfile.mkdtemp(prefix="bw-btf-")
    ctx.tmpdirs.append(tmp)
    path = os.path.join(tmp, kind)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dir":
        os.mkdir(path)
    elif kind == "empty":
        open(path, "w").close()
    elif kind == "elf":
        shutil.copy2("/bin/true", path)     # an ELF file without .BTF
    t_error(ctx, ["--btf", path, "-d", "1s"], 5, want_msg=want_msg)


def _tmpdir(ctx, prefix):
    tmp = tempfile.mkdtemp(prefix=prefix)
    ctx.tmpdirs.append(tmp)
    return tmp


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def t_same_file(ctx, link):
    """Two formats to one file (by one name, or an existing file and a
    symlink to it): refused before anything is written."""
    tmp = _tmpdir(ctx, "bw-out-")
    path = os.path.join(tmp, "out")
    other = path
    if link:
        with open(path, "w") as f:
            f.write("kept\n")
        other = os.path.join(tmp, "link")
        os.symlink(path, other)
    t_error(ctx, ["-f", f"folded:{path}", "-f", f"pprof:{other}", "-d", "1s"],
            2, want_msg=r"output '.*' given twice")
    if link and _read(path) != b"kept\n":
        raise Fail(f"{path} changed")


def t_binary_terminal(ctx):
    """-f pprof with stdout a terminal (script(1) gives it one): refused,
    exit 2, one line."""
    script = shutil.which("script")
    if not script:
        raise Skip("script (util-linux) not installed")
    cmd = f"{shlex.quote(ctx.cfg.blockwatch)} -f pprof -d 1s"
    p = subprocess.run([script, "-qec", cmd, "/dev/null"],
                       capture_output=True, timeout=EXIT_TIMEOUT_S)
    out = p.stdout.decode("utf-8", "replace").replace("\r", "")
    lines = [x for x in out.splitlines() if x.strip()]
    if p.returncode != 2 or len(lines) != 1 or not re.match(
            r"^blockwatch: pprof output is binary: not to a terminal", lines[0]):
        raise Fail(f"exit {p.returncode}, expected 2 and one line", lines[:5])


def t_output_kept(ctx):
    """A run that fails before tracing (a bad --btf) leaves its outputs as
    they were: yesterday's report still there, no new file made."""
    tmp = _tmpdir(ctx, "bw-out-")
    old = os.path.join(tmp, "report.json")
    new = os.path.join(tmp, "new.txt")
    with open(old, "w") as f:
        f.write("yesterday's report\n")
    t_error(ctx, ["-o", old, "-f", "json", "-f", f"text:{new}",
                  "--btf", "/nonexistent", "-d", "1s"], 5)
    if _read(old) != b"yesterday's report\n":
        raise Fail(f"{old} changed by a run that failed: {_read(old)[:80]!r}")
    if os.path.exists(new):
        raise Fail(f"{new} made by a run that failed")


def t_output_is_btf(ctx, via):
    """--btf F -o F (or F by another name): refused, F untouched."""
    tmp = _tmpdir(ctx, "bw-out-")
    btf = os.path.join(tmp, "vmlinux.btf")
    shutil.copyfile("/sys/kernel/btf/vmlinux", btf)
    before = _read(btf)
    out = btf
    if via == "symlink":
        out = os.path.join(tmp, "link")
        os.symlink(btf, out)
    elif via == "hardlink":
        out = os.path.join(tmp, "link")
        os.link(btf, out)
    t_error(ctx, ["--btf", btf, "-f", f"json:{out}", "-d", "1s"], 2,
            want_msg=r"is the --btf file")
    if _read(btf) != before:
        raise Fail(f"the --btf file {btf} changed")


def _closing(fd):
    """A prefix that runs blockwatch with standard fd @fd closed."""
    return ("sh", "-c", f'exec {fd}>&- "$@"', "sh")


def t_fd_closed(ctx, fd):
    """blockwatch started with fd 1 or 2 closed: the fd is /dev/null while
    it runs (not a pidfd or the output file, where the messages or the
    reports would go), the JSON file holds reports only, exit 0."""
    tmp = _tmpdir(ctx, "bw-fd-")
    path = os.path.join(tmp, "r.json")
    w, pid, _ = ctx.workload("sleep", 300, 1)
    bw = ctx.blockwatch("-p", pid, "-i", "300ms", "-d", "2s",
                        "-f", f"json:{path}", prefix=_closing(fd))
    deadline = time.monotonic() + START_TIMEOUT_S
    while not (os.path.exists(path) and os.path.getsize(path)):
        if time.monotonic() > deadline or not bw.running():
            raise Fail(f"no report in {path} ({describe_rc(bw.wait(0))})",
                       bw.tail())
        time.sleep(0.05)
    try:
        target = os.readlink(f"/proc/{bw.pid}/fd/{fd}")
    except OSError as e:
        target = f"({e.strerror})"
    ctx.finish(bw)
    if target != "/dev/null":
        raise Fail(f"fd {fd} of blockwatch is {target}, expected /dev/null")
    parse_reports(_read(path).decode("utf-8", "replace"), where=path)


def _kernel_thread():
    """A kernel thread's pid (PF_KTHREAD in /proc/PID/stat), or None."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        flags = int(stat[stat.rindex(")") + 2:].split()[6])
        if flags & 0x00200000:
            return int(name)
    return None


def t_pid_kthread(ctx):
    pid = _kernel_thread()
    if pid is None:
        raise Skip("no kernel thread visible (a pid namespace?)")
    t_error(ctx, ["-p", pid, "-d", "1s"], 2, want_msg=r"kernel thread")


def t_pid_zombie(ctx):
    """-p of a process that has exited, not yet reaped: no such process."""
    pid = os.posix_spawn("/bin/true", ["true"], os.environ)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        else:
            raise Fail(f"{pid} did not become a zombie")
        t_error(ctx, ["-p", pid, "-d", "1s"], 3, want_msg=r"exited")
    finally:
        os.waitpid(pid, 0)


def t_pid_leader_exited(ctx):
    """A process whose main thread has exited (pthread_exit) is a zombie
    leader but lives on: not refused as exited, its blocked threads
    reported. (Their stacks and lock owners are not: /proc/PID/maps and
    the memory reads go through the leader, whose mm is gone.)"""
    w, pid, (t1, t2), _ = ctx.stuck("deadlock-no-main")
    deadline = time.monotonic() + 5
    while True:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        if time.monotonic() > deadline:
            raise Fail(f"the main thread of {pid} did not exit", w.tail())
        time.sleep(0.01)
    time.sleep(0.2)  # past the threshold
    bw = ctx.blockwatch("--now", "-f", "json", "-p", pid)
    ctx.finish(bw)
    reports = parse_reports(bw.stdout_text())
    tids = {t["tid"] for _, _, t in entries(reports, pid=pid)
            if t.get("ongoing")}
    if not {t1, t2} <= tids:
        raise Fail(f"ongoing entries for {sorted(tids)}, expected {t1} and "
                   f"{t2}", bw.tail())


TESTS = [
    ("help", lambda c: t_info(c, "-h")),
    ("version", lambda c: t_info(c, "-V")),
    ("error-no-such-pid", lambda c: t_error(c, ["-p", "999999999"], 3)),
    ("error-duration-bare", lambda c: t_error(c, ["-t", "10"], 2)),
    ("error-duration-suffix", lambda c: t_error(c, ["-t", "5xs"], 2)),
    ("error-duration-hex",
     lambda c: t_error(c, ["-t", "0x10s", "-d", "1s"], 2)),
    ("error-duration-exponent",
     lambda c: t_error(c, ["-i", "1e3ms", "-d", "1s"], 2)),
    ("error-interval-out-of-range",
     lambda c: t_error(c, ["-i", "999999999999h"], 2,
                       want_msg=r"'999999999999h': out of range")),
    ("error-format", lambda c: t_error(c, ["-f", "xml"], 2)),
    ("error-format-same-file", lambda c: t_same_file(c, False)),
    ("error-format-same-file-link", lambda c: t_same_file(c, True)),
    ("error-format-unwritable",
     lambda c: t_error(c, ["-f", "pprof:/nonexistent/dir/x.pb.gz",
                           "-d", "1s"], 1,
                       want_msg=r"cannot open output '/nonexistent/dir/x"
                       r"\.pb\.gz': No such file or directory$")),
    ("error-format-binary-terminal", t_binary_terminal),
    ("error-unknown-option",
     lambda c: t_error(c, ["--no-such-option"], 2)),
    ("error-not-root", t_not_root),
    ("error-btf-missing",
     lambda c: t_error(c, ["--btf", "/nonexistent", "-d", "1s"], 5)),
    ("error-btf-not-btf",
     lambda c: t_error(c, ["--btf", "/etc/passwd", "-d", "1s"], 5)),
    ("error-btf-fifo",
     lambda c: t_btf_bad(c, "fifo", r"--btf '.*': not a regular file$")),
    ("error-btf-dir",
     lambda c: t_btf_bad(c, "dir", r"--btf '.*': not a regular file$")),
    ("error-btf-empty",
     lambda c: t_btf_bad(c, "empty", r"--btf '.*': empty file")),
    ("error-btf-elf-without-btf",
     lambda c: t_btf_bad(c, "elf", r"--btf '.*': no BTF in it")),
    ("error-output-kept", t_output_kept),
    ("error-output-is-btf", lambda c: t_output_is_btf(c, "same")),
    ("error-output-is-btf-symlink",
     lambda c: t_output_is_btf(c, "symlink")),
    ("error-output-is-btf-hardlink",
     lambda c: t_output_is_btf(c, "hardlink")),
    ("fds-closed-stdout", lambda c: t_fd_closed(c, 1)),
    ("fds-closed-stderr", lambda c: t_fd_closed(c, 2)),
    ("error-stdout-closed",
     lambda c: t_error(c, ["-d", "1s"], 1, prefix=_closing(1),
                       want_msg=r"'stdout'.*closed")),
    ("error-pid-self",
     lambda c: t_error(c, ["-d", "1s"], 2,
                       prefix=("sh", "-c", 'exec "$@" -p $$', "sh"),
                       want_msg=r"blockwatch itself")),
    ("error-pid-kthread", t_pid_kthread),
    ("error-pid-zombie", t_pid_zombie),
    ("pid-leader-exited", t_pid_leader_exited),
    ("error-now-duration",
     lambda c: t_error(c, ["--now", "-d", "5s"], 2, want_msg=r"--now")),
    ("error-now-interval",
     lambda c: t_error(c, ["--now", "-i", "1s"], 2, want_msg=r"--now")),
    ("now-error-no-such-pid",
     lambda c: t_error(c, ["--now", "-p", "999999999"], 3)),
]
