"""Ground truth read from /proc (and bpftool): what a blocked thread is
really waiting on (its syscall and arguments, fds, epoll, poll and select
sets, sockets in /proc/net), when its block started, which BPF programs a
process holds; and the checks of blockwatch's entries against it."""

import json
import os
import re
import socket
import struct
import subprocess

from .config import MS
from .errors import Fail
from .reports import report_epoch


# x86-64 syscall numbers of the waits that have a detail
SYS_FUTEX = 202
SYS_EPOLL = {232, 281, 441}          # epoll_wait, epoll_pwait, epoll_pwait2
SYS_POLL = {7, 271}                  # poll, ppoll
SYS_SELECT = {23, 270}               # select, pselect6
SYS_FD = {0, 1, 17, 18, 19, 20, 42, 43, 44, 45, 46, 47, 288, 295, 296, 299,
          307}                       # read ... accept4, preadv ... sendmmsg
FUTEX_OPS = {0: "FUTEX_WAIT", 6: "FUTEX_LOCK_PI", 9: "FUTEX_WAIT_BITSET",
             11: "FUTEX_WAIT_REQUEUE_PI", 13: "FUTEX_LOCK_PI2"}


def task_syscall(pid, tid):
    """(nr, [arg0..arg5]) of a thread asleep in a syscall, else None."""
    with open(f"/proc/{pid}/task/{tid}/syscall", encoding="ascii") as f:
        fields = f.read().split()
    if len(fields) < 7 or not fields[0].lstrip("-").isdigit() \
            or int(fields[0]) < 0:
        return None
    return int(fields[0]), [int(x, 16) for x in fields[1:7]]


def read_mem(pid, addr, size):
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as f:
        f.seek(addr)
        return f.read(size)


def epoll_set(pid, epfd):
    with open(f"/proc/{pid}/fdinfo/{epfd}", encoding="ascii") as f:
        return {int(m.group(1)) for m in
                re.finditer(r"^tfd:\s*(\d+)", f.read(), re.M)}


def poll_set(pid, addr, n):
    data = read_mem(pid, addr, 8 * n)
    return {fd for fd, _, _ in struct.iter_unpack("ihh", data) if fd >= 0}


def select_set(pid, nfds, sets):
    fds = set()
    for addr in sets:
        if addr:
            bits = int.from_bytes(read_mem(pid, addr, (nfds + 63) // 64 * 8),
                                  "little")
            fds |= {fd for fd in range(nfds) if bits >> fd & 1}
    return fds


def _ipv4(hexaddr):
    ip, port = hexaddr.split(":")
    host = socket.inet_ntoa(struct.pack("<I", int(ip, 16)))
    return f"{host}:{int(port, 16)}"


def fd_target(pid, fd):
    """(expected target of fd, exact?) from /proc: the fd's link, and for
    sockets the family and the addresses."""
    link = os.readlink(f"/proc/{pid}/fd/{fd}")
    m = re.fullmatch(r"socket:\[(\d+)\]", link)
    if not m:
        return link, True
    ino = m.group(1)
    with open(f"/proc/{pid}/net/unix", encoding="ascii") as f:
        if any(len(x.split()) > 6 and x.split()[6] == ino for x in f):
            return f"{link} unix", False      # then the path or "(unnamed)"
    with open(f"/proc/{pid}/net/tcp", encoding="ascii") as f:
        for x in f:
            fields = x.split()
            if len(fields) > 9 and fields[9] == ino:
                local = _ipv4(fields[1])
                if fields[3] == "0A":         # listening: no peer
                    return f"{link} tcp {local}", False
                return f"{link} tcp {local} -> {_ipv4(fields[2])}", True
    return link, False


def target_problem(pid, fd, target):
    try:
        want, exact = fd_target(pid, fd)
    except OSError as e:
        return f"fd {fd}: cannot read /proc: {e}"
    if exact and target != want:
        return f"fd {fd}: target {target!r}, expected {want!r}"
    if not exact and target != want and not target.startswith(want + " "):
        return f"fd {fd}: target {target!r}, expected {want!r} + ' ...'"
    return None


def fds_problem(pid, d, want):
    got = [o["fd"] for o in d["fds"]]
    if sorted(got) != sorted(want):
        return f"fds {sorted(got)}, expected {sorted(want)}"
    for o in d["fds"]:
        problem = target_problem(pid, o["fd"], o["target"])
        if problem:
            return problem
    return None


def detail_truth_problem(pid, tid, t):
    """Checks an ongoing entry's detail against what /proc says the
    thread waits on (the process must still be there); None if right."""
    try:
        sc = task_syscall(pid, tid)
    except OSError as e:
        return f"cannot read /proc/{pid}/task/{tid}/syscall: {e}"
    if sc is None:
        return "/proc shows the thread outside a syscall"
    nr, a = sc
    d = t.get("detail")
    waits = (SYS_EPOLL | SYS_POLL | SYS_SELECT | SYS_FD | {SYS_FUTEX})
    if nr in waits and not d:
        return f"no detail for syscall {nr}"
    if nr == SYS_FUTEX:
        if int(d["futex"], 16) != a[0]:
            return f"detail.futex {d['futex']}, expected {a[0]:#x}"
        base = FUTEX_OPS.get(a[1] & 0x7f)
        word = re.match(r"[A-Z0-9_]*", d["op"]).group(0)
        private = bool(a[1] & 0x80)
        if base and (word.replace("_PRIVATE", "") != base
                     or ("_PRIVATE" in word) != private):
            return (f"detail.op {d['op']!r} for op {a[1]:#x}, expected "
                    f"{base}{'_PRIVATE' if private else ''}")
        return None
    try:
        if nr in SYS_EPOLL:
            if d.get("epfd") != a[0]:
                return f"detail.epfd {d.get('epfd')!r}, expected {a[0]}"
            return fds_problem(pid, d, epoll_set(pid, a[0]))
        if nr in SYS_POLL:
            return fds_problem(pid, d, poll_set(pid, a[0], a[1]))
        if nr in SYS_SELECT:
            return fds_problem(pid, d, select_set(pid, a[0], a[1:4]))
        if nr in SYS_FD:
            if d.get("fd") != a[0]:
                return f"detail.fd {d.get('fd')!r}, expected {a[0]}"
            return target_problem(pid, a[0], d["target"])
    except OSError as e:
        return f"cannot read /proc for pid {pid}: {e}"
    return None


def age_problem(r, t, span):
    """An ongoing entry's age must put the start of its block inside span
    (wall clock: workload started .. printed ready), +-50 ms + 2%."""
    since, until = span
    when = report_epoch(r)
    lo, hi = (when - until) * 1e9, (when - since) * 1e9
    slack = 50 * MS + 0.02 * hi
    if not lo - slack <= t["age_ns"] <= hi + slack:
        off = t["age_ns"] - (hi if t["age_ns"] > hi else lo)
        return (f"age_ns {t['age_ns']} outside the truth "
                f"[{lo:.0f}, {hi:.0f}] ns (by {off / MS:+.1f} ms)")
    return None


def prog_ids_of(pid):
    """IDs of the BPF programs that process pid holds open (fdinfo)."""
    ids = set()
    fddir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fddir)
    except OSError:
        return ids
    for fd in fds:
        try:
            if os.readlink(f"{fddir}/{fd}") != "anon_inode:bpf-prog":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except (OSError, ValueError):
            continue
    return ids


def bpf_prog_names():
    """{id: name} of the loaded BPF programs, via bpftool."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"],
                         capture_output=True, timeout=20, check=False)
    if out.returncode != 0:
        raise Fail("bpftool prog show failed: "
                   + out.stderr.decode(errors="replace").strip())
    return {p["id"]: p.get("name", "") for p in json.loads(out.stdout or
                                                            b"[]")}
