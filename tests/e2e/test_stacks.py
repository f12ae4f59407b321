"""Stack quality, frame by frame: tests/workloads/stacks.c with and
without frame pointers (names, inline frames, source lines, modules,
truncation, kernel frames), a deleted binary, one in another mount
namespace, C++ demangling, JIT code from /tmp/perf-PID.map (and a FIFO
in its place), no debug info, and against eu-stack."""

import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time

from lib.config import EXIT_TIMEOUT_S, MS
from lib.errors import Fail, Skip
from lib.procs import STACK_MODES, describe_rc
from lib.reports import (check_snapshot, entries, now_report, now_text,
                         ongoing_by_tid, parse_reports, show_entries,
                         show_waits, symbols, wait_reports, within)

# ------------------------------------------------------------ stack quality
#
# tests/workloads/stacks.c: one thread per mode blocked for good in
#   stacks_worker -> stacks_MODE_outer -> stacks_MODE_inline (an inline
#   frame) -> stacks_block_MODE -> libc
# checked frame by frame, with and without frame pointers.


# The real (not inline) libc frames above stacks_block_MODE, leaf first;
# glibc's own inline frames (futex_wait, ...) may come between them.
STACK_LIBC = {
    "mutex": [r"__lll_lock_wait", r"_*pthread_mutex_lock"],
    "condvar": [r"_*futex_abstimed_wait\w*", r"_*pthread_cond_wait"],
    "epoll": [r"_*epoll_wait"],
    "pipe": [r"(__libc_|__)?read"],
    "sleep": [r"_*(clock_)?nanosleep"],
}
LIBC = re.compile(r".*/libc\.so\.6$")


def stack_marks(ctx):
    """{(mode, "inline"|"outer"): line} from the "line: MODE-inline" and
    "line: MODE-outer" comments of stacks.c: the lines of the calls of
    stacks_block_MODE and of stacks_MODE_inline. Read once per run (the
    cache is the run's)."""
    marks = ctx.run.stack_marks
    if not marks:
        with open(ctx.cfg.stacks_src, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                m = re.search(r"/\* line: (\w+)-(inline|outer) \*/", line)
                if m:
                    marks[(m.group(1), m.group(2))] = n
    return marks


def frame_text(f):
    where = os.path.basename(f.get("module") or "?")
    line = f" {os.path.basename(f['file'])}:{f.get('line')}" \
        if f.get("file") else ""
    flags = (" [inline]" if f.get("inline") else "") + \
        (" [kernel]" if f.get("kernel") else "")
    return f"{f.get('symbol')} ({where}){line}{flags} addr {f['addr']:#x}"


def show_stack(t, what="stack"):
    return [f"{what} of tid {t['tid']} ({t['comm']}), reason {t['reason']}, "
            f"ongoing {t.get('ongoing')}, truncated {t.get('truncated')}, "
            f"{len(t['stack'])} frames:"] + [
        f"  #{i:<3} {frame_text(f)}" for i, f in enumerate(t["stack"])]


def user_frames(t):
    return [f for f in t["stack"] if not f.get("kernel")]


def chain_problem(ctx, t, mode, module_re):
    """What is wrong with the stack of a stacks.c thread blocked in mode,
    or None: the libc frames, then exactly stacks_block_MODE,
    stacks_MODE_inline (inline, at the call's line), stacks_MODE_outer
    (at its call's line), stacks_worker, start_thread, clone3; frames of
    the program in a module matching module_re; not truncated."""
    stack = user_frames(t)
    names = [f.get("symbol") for f in stack]
    block = f"stacks_block_{mode}"
    if block not in names:
        return f"{block} not in the stack"
    i = names.index(block)
    for f in stack[:i]:
        if not LIBC.match(f.get("module") or ""):
            return f"frame {frame_text(f)} above {block} is not in libc"
    real = [f.get("symbol") for f in stack[:i] if not f.get("inline")]
    want = STACK_LIBC[mode]
    if len(real) != len(want) or not all(
            s and re.fullmatch(p, s) for p, s in zip(want, real)):
        return (f"libc frames (not inline) {real}, expected "
                f"{' then '.join(want)}")
    marks = stack_marks(ctx)
    expect = [  # symbol, inline, line, module
        (block, False, None, module_re),
        (f"stacks_{mode}_inline", True, marks[(mode, "inline")], module_re),
        (f"stacks_{mode}_outer", False, marks[(mode, "outer")], module_re),
        ("stacks_worker", False, None, module_re),
        ("start_thread", False, None, LIBC),
        (re.compile(r"_*clone3"), False, None, LIBC),
    ]
    rest = stack[i:]
    for k, (sym, inline, line, mod) in enumerate(expect):
        if k >= len(rest):
            return f"the stack ends after {rest[k - 1].get('symbol')}"
        f = rest[k]
        ok = (sym.fullmatch(f.get("symbol") or "") if hasattr(sym, "match")
              else f.get("symbol") == sym)
        name = getattr(sym, "pattern", sym)
        if not ok:
            return (f"frame {i + k} is {f.get('symbol')}, expected {name}")
        if bool(f.get("inline")) != inline:
            return (f"frame {i + k} {name}: inline {f.get('inline')}, "
                    f"expected {inline}")
        if not mod.match(f.get("module") or ""):
            return (f"frame {i + k} {name}: module {f.get('module')!r}, "
                    f"expected /{mod.pattern}/")
        if mod is not LIBC and not (f.get("file") or "").endswith(
                "stacks.c"):
            return f"frame {i + k} {name}: file {f.get('file')!r}"
        if line is not None and f.get("line") != line:
            return (f"frame {i + k} {name}: line {f.get('line')}, expected "
                    f"{line} (the call marked in stacks.c)")
    if len(rest) > len(expect):
        return f"frames after {rest[len(expect) - 1].get('symbol')}"
    if t.get("truncated") is not False:
        return f"truncated {t.get('truncated')!r}, expected false"
    return None


def stack_now(ctx, pid, *args, timeout=3):
    """now_report for -p PID; also blockwatch's stderr, for diagnostics."""
    bw = ctx.blockwatch("--now", "-f", "json", "-p", pid, *args)
    ctx.finish(bw, timeout=timeout)
    took = time.monotonic() - bw.started
    if took > timeout:
        raise Fail(f"--now took {took:.2f} s, more than {timeout} s")
    return check_snapshot(parse_reports(bw.stdout_text())), bw.tail()


def stack_entry(r, pid, tid, what, tail=()):
    t = ongoing_by_tid(r, pid).get(tid)
    if t is None:
        raise Fail(f"no ongoing entry for the {what} thread (tid {tid})",
                   show_waits(r, pid) + list(tail))
    return t


def check_chain_entry(ctx, t, mode, module_re, what):
    problem = chain_problem(ctx, t, mode, module_re)
    if problem:
        raise Fail(f"{what}: {problem}", show_stack(t))


def program_module(variant):
    return re.compile(rf".*/stacks_{variant}$")


def t_stacks(ctx, variant, mode):
    """--now: the thread blocked in mode has the full chain; sleep also a
    finished 300 ms block, reported with -i."""
    w, pid, tids = ctx.stacks(variant)
    tid = tids[mode]
    if mode == "sleep":
        bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "60s", "-f",
                            "json")
        ctx.tracing(bw)
        ctx.stacks_go(w)
        time.sleep(0.2)  # the second sleep past the threshold
        bw.signal(signal.SIGINT)
        ctx.finish(bw)
        reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
        mine = list(entries(reports, pid=pid, tid=tid))
        done = [t for _, _, t in mine if not t.get("ongoing")]
        if len(done) != 1 or done[0]["count"] != 1 \
                or not within(done[0]["max_ns"], 300 * MS):
            raise Fail(f"{len(done)} finished entries for the sleep thread, "
                       "expected one: count 1, max ~300 ms",
                       show_entries(entries(reports, pid=pid, tid=tid)))
        check_chain_entry(ctx, done[0], mode, program_module(variant),
                          "finished 300 ms sleep")
    else:
        time.sleep(0.2)  # past the threshold
    r = now_report(ctx, "-p", pid)
    t = stack_entry(r, pid, tid, mode)
    check_chain_entry(ctx, t, mode, program_module(variant), "--now")


def t_stacks_cxx(ctx):
    w, m = ctx.simple(ctx.cfg.cxx_blocker, "cxx_blocker")
    pid, tid = int(m.group(1)), int(m.group(2))
    time.sleep(0.2)
    r = now_report(ctx, "-p", pid)
    t = stack_entry(r, pid, tid, "cxx-waiter")
    if not any((s or "").startswith("bw::Waiter::wait_for(")
               for s in symbols(t)):
        raise Fail("no frame 'bw::Waiter::wait_for(...)' (demangled)",
                   show_stack(t))


def t_stacks_deleted(ctx):
    """The binary deleted once started: read through map_files."""
    tmp = tempfile.mkdtemp(prefix="bw-e2e-")
    ctx.tmpdirs.append(tmp)
    copy = os.path.join(tmp, "stacks_nofp")
    shutil.copy2(ctx.cfg.stacks["nofp"], copy)
    w, pid, tids = ctx.stacks(path=copy)
    os.unlink(copy)
    time.sleep(0.2)
    r = now_report(ctx, "-p", pid)
    module = re.compile(re.escape(copy) + r" \(deleted\)$")
    for mode in ("mutex", "epoll", "pipe"):
        t = stack_entry(r, pid, tids[mode], mode)
        check_chain_entry(ctx, t, mode, module, f"{mode} thread")


def t_stacks_container(ctx):
    """A workload in another mount namespace, from a path that does not
    exist in ours: read through /proc/PID/root."""
    unshare = shutil.which("unshare")
    if not unshare:
        raise Skip("unshare not installed")
    if not os.access(ctx.cfg.stacks["nofp"], os.X_OK):
        raise Fail(f"not built: {ctx.cfg.stacks['nofp']}")
    mnt = tempfile.mkdtemp(prefix="bw-e2e-", dir="/mnt")
    ctx.tmpdirs.append(mnt)  # stays empty here: the tmpfs is theirs
    inside = os.path.join(mnt, "stacks_nofp")
    script = 'mount -t tmpfs none "$1" && cp "$2" "$1"/ && exec "$1"/stacks_nofp'
    w, pid, tids = ctx.stacks(path=inside, prefix=(
        unshare, "--mount", "--propagation", "private", "sh", "-c", script,
        "sh", mnt, ctx.cfg.stacks["nofp"]))
    if os.path.exists(inside):
        raise Fail(f"test setup: {inside} exists in our mount namespace")
    if not os.path.exists(f"/proc/{pid}/root{inside}"):
        raise Fail(f"test setup: no /proc/{pid}/root{inside}")
    time.sleep(0.2)
    r = now_report(ctx, "-p", pid)
    module = re.compile(re.escape(inside) + "$")
    for mode in ("mutex", "epoll", "pipe"):
        t = stack_entry(r, pid, tids[mode], mode)
        check_chain_entry(ctx, t, mode, module, f"{mode} thread")


EU_FRAME = re.compile(r"^#(\d+)\s+0x([0-9a-f]+)(.*)$")


def eu_stack(pid, inline):
    """{tid: [(pc, name or None, module)]} from eu-stack -m [-i] -p PID."""
    env = {k: v for k, v in os.environ.items() if k != "DEBUGINFOD_URLS"}
    argv = ["eu-stack", "-m", *(["-i"] if inline else []), "-p", str(pid)]
    try:
        out = subprocess.run(argv, capture_output=True, timeout=30,
                             check=False, env=env)
    except subprocess.TimeoutExpired:
        raise Fail(f"{' '.join(argv)}: still running after 30 s")
    text = out.stdout.decode("utf-8", "replace")
    threads, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^TID (\d+):$", line)
        if m:
            cur = threads.setdefault(int(m.group(1)), [])
            continue
        m = EU_FRAME.match(line)
        if m and cur is not None:
            # "#N  0xPC NAME - MODULE", "#N  0xPC - MODULE" if no name
            name, _, module = (" " + m.group(3)).rpartition(" - ")
            cur.append((int(m.group(2), 16), name.strip() or None,
                        module.strip() or None))
    if out.returncode != 0 and not threads:
        raise Fail(f"{' '.join(argv)}: {describe_rc(out.returncode)}",
                   out.stderr.decode("utf-8", "replace").splitlines()[-5:])
    return threads, text


def eu_name(name):
    """eu-stack's name as blockwatch spells it: no symbol version, no
    glibc "__GI_" alias prefix."""
    if name is None:
        return None
    name = name.split("@")[0]
    return name[5:] if name.startswith("__GI_") else name


def eu_frames(plain, inlined):
    """eu-stack's frames as blockwatch lists them: the inline frames of
    each pc from eu-stack -i (which names every frame from DWARF), then
    the function itself as eu-stack without -i names it (its ELF symbol,
    as blockwatch does). [(pc, name, inline)], or None if the two runs
    do not line up."""
    out, k = [], 0
    for pc, name, _ in plain:
        group = []
        while k < len(inlined) and inlined[k][0] == pc:
            group.append(inlined[k])
            k += 1
        if not group:
            return None
        out += [(pc, eu_name(n), True) for _, n, _ in group[:-1]]
        out.append((pc, eu_name(name), False))
    return out if k == len(inlined) else None


def t_stacks_vs_eu_stack(ctx, what="stacks"):
    """The user frames of a still-blocked thread, inline ones included,
    as blockwatch and as eu-stack (ptrace) see them: same names and pcs,
    in order."""
    if not shutil.which("eu-stack"):
        raise Skip("eu-stack not installed")
    if what == "cxx":
        w, m = ctx.simple(ctx.cfg.cxx_blocker, "cxx_blocker")
        cases = [(int(m.group(1)), int(m.group(2)), "cxx_blocker",
                  "cxx-waiter")]
    else:
        cases = []
        for variant in ("fp", "nofp"):
            w, pid, tids = ctx.stacks(variant)
            cases += [(pid, tids[mode], f"stacks_{variant}", mode)
                      for mode in ("mutex", "epoll")]
    time.sleep(0.2)
    pids = sorted({c[0] for c in cases})
    snaps = {pid: now_report(ctx, "-p", pid) for pid in pids}
    for pid in pids:
        plain, _ = eu_stack(pid, False)
        inlined, raw = eu_stack(pid, True)
        for p, tid, prog, mode in cases:
            if p != pid:
                continue
            t = stack_entry(snaps[pid], pid, tid, mode)
            ours = [(f["addr"], f.get("symbol"), bool(f.get("inline")))
                    for f in user_frames(t)]
            theirs = eu_frames(plain.get(tid, []), inlined.get(tid, []))
            details = show_stack(t, "blockwatch") + [
                f"eu-stack -i (TID {tid}):"] + [
                f"  #{i:<3} {pc:#x} {n} - {mod}"
                for i, (pc, n, mod) in enumerate(inlined.get(tid, []))] + [
                f"eu-stack without -i (TID {tid}):"] + [
                f"  #{i:<3} {pc:#x} {n} - {mod}"
                for i, (pc, n, mod) in enumerate(plain.get(tid, []))]
            if not plain.get(tid) or theirs is None:
                raise Fail(f"{prog} {mode} thread: eu-stack shows no stack, "
                           "or its runs with and without -i differ",
                           details + ["eu-stack -i output:"]
                           + raw.splitlines()[:80])
            if [n for _, n, _ in ours] != [n for _, n, _ in theirs]:
                raise Fail(f"{prog} {mode} thread: function names differ "
                           "from eu-stack's",
                           [f"  blockwatch: {[n for _, n, _ in ours]}",
                            f"  eu-stack:   {[n for _, n, _ in theirs]}"]
                           + details)
            if ours != theirs:
                raise Fail(f"{prog} {mode} thread: same names as eu-stack "
                           "but other pcs or inline marks",
                           [f"  blockwatch: {ours}",
                            f"  eu-stack:   {theirs}"] + details)


def t_stacks_no_lines(ctx):
    """--no-lines: the same pcs and functions as without it, the inlined
    calls' frames gone, no frame with a file or a line; the text report
    shows no file:line either."""
    w, pid, tids = ctx.stacks("nofp")
    tid = tids["mutex"]
    time.sleep(0.2)
    full = stack_entry(now_report(ctx, "-p", pid), pid, tid, "mutex")
    if not any(f.get("inline") for f in user_frames(full)) or \
            not any(f.get("line") for f in user_frames(full)):
        raise Fail("test setup: without --no-lines the mutex thread's "
                   "stack has no inlined frame or no line", show_stack(full))
    bare = stack_entry(now_report(ctx, "-p", pid, "--no-lines"), pid, tid,
                       "mutex")
    details = show_stack(full) + ["-- with --no-lines:"] + show_stack(bare)
    want = [(f["addr"], f.get("symbol"), f.get("module"))
            for f in user_frames(full) if not f.get("inline")]
    got = [(f["addr"], f.get("symbol"), f.get("module"))
           for f in user_frames(bare)]
    if got != want:
        raise Fail("--no-lines: not the same frames less the inlined ones",
                   details)
    odd = [frame_text(f) for f in user_frames(bare)
           if f.get("inline") or f.get("file") or f.get("line")]
    if odd:
        raise Fail(f"--no-lines: frames with a file, line or inline: {odd}",
                   details)
    out, tdetails = now_text(ctx, "-p", pid, "--no-lines")
    if "stacks_mutex_outer" not in out or re.search(r"\.c:\d+", out):
        raise Fail("--no-lines text: no stacks_mutex_outer frame, or a "
                   "file:line", tdetails)


def elf_compressed(path):
    """Whether the ELF file at path has a SHF_COMPRESSED section (readelf)."""
    out = subprocess.run(["readelf", "-SW", path], capture_output=True,
                         text=True, check=True).stdout
    return any(re.match(r"\s*\[\s*\d+\]", x) and
               re.search(r"\s[A-Z]*C[A-Z]*\s+\d+\s+\d+\s+\d+\s*$", x)
               for x in out.splitlines())


def libc_build_id():
    out = subprocess.run(["readelf", "-n", "/lib/x86_64-linux-gnu/libc.so.6"],
                         capture_output=True, text=True, check=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", out).group(1)


def t_stacks_debug_cache(ctx):
    """--debug-cache: libc6-dbg's compressed DWARF is read from a copy
    inflated once (DIR/BUILDID.debug, nothing compressed in it), found
    again by the next run (not made anew), and every thread's frames --
    names, files, lines, inlined calls -- are those read without the
    cache; a directory others can write is refused with one line, and
    the frames are still the same."""
    w, pid, tids = ctx.stacks("nofp")
    time.sleep(0.2)
    tmp = tempfile.mkdtemp(prefix="bw-e2e-")
    try:
        cache = os.path.join(tmp, "cache")
        copy = os.path.join(cache, libc_build_id() + ".debug")
        src = next((p for p in ("/usr/lib/debug/.build-id/%s/%s.debug" % (
            libc_build_id()[:2], libc_build_id()[2:]),) if os.path.exists(p)),
            None)
        if src is None or not elf_compressed(src):
            raise Skip("libc6-dbg missing, or its DWARF not compressed")

        def frames(r):
            return {t["tid"]: [(f["addr"], f.get("symbol"), f.get("file"),
                                f.get("line"), bool(f.get("inline")))
                               for f in user_frames(t)]
                    for t in ongoing_by_tid(r, pid).values()}

        off = frames(now_report(ctx, "-p", pid, "--debug-cache", "off"))
        lll = [f for f in off.get(tids["mutex"], [])
               if f[1] == "__lll_lock_wait"]
        if not lll or not lll[0][2] or not lll[0][3]:
            raise Fail("test setup: without the cache the mutex thread has "
                       "no __lll_lock_wait frame with a file and line",
                       [str(x) for x in off.get(tids["mutex"], [])])
        cold = frames(now_report(ctx, "-p", pid, "--debug-cache", cache))
        if not os.path.exists(copy):
            raise Fail(f"no copy {copy} after the first run",
                       os.listdir(cache) if os.path.isdir(cache) else [])
        st = os.stat(copy)
        if elf_compressed(copy) or stat.S_IMODE(st.st_mode) != 0o600 or \
                stat.S_IMODE(os.stat(cache).st_mode) != 0o700:
            raise Fail("the copy has a compressed section, or the copy is "
                       f"not 0600 ({oct(st.st_mode)}) or its directory not "
                       "0700")
        warm = frames(now_report(ctx, "-p", pid, "--debug-cache", cache))
        if os.stat(copy).st_ino != st.st_ino:
            raise Fail("the second run made the copy again instead of "
                       "reading it")
        for name, got in (("cold cache", cold), ("warm cache", warm)):
            if got != off:
                diff = [f"tid {t}: {got.get(t)} != {off.get(t)}"
                        for t in sorted(set(off) | set(got))
                        if got.get(t) != off.get(t)]
                raise Fail(f"{name}: frames differ from those without it",
                           diff[:10])
        bad = os.path.join(tmp, "open")
        os.mkdir(bad)
        os.chmod(bad, 0o777)
        bw = ctx.blockwatch("--now", "-f", "json", "-p", pid,
                            "--debug-cache", bad)
        ctx.finish(bw, timeout=3)
        said = [x for x in bw.err if "debug cache" in x]
        if len(said) != 1 or "others can write" not in said[0]:
            raise Fail(f"{len(said)} lines about the refused cache, expected "
                       "one saying why", bw.tail())
        if os.listdir(bad):
            raise Fail(f"a copy was written in a directory others can "
                       f"write: {os.listdir(bad)}")
        got = frames(check_snapshot(parse_reports(bw.stdout_text())))
        if got != off:
            raise Fail("refused cache: frames differ from those without it")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def t_stacks_no_debuginfo(ctx):
    """--debuginfo-path /nonexistent: no libc6-dbg. glibc's internal
    __lll_lock_wait has no name (module+offset in text); exported and
    the program's own functions still have theirs."""
    w, pid, tids = ctx.stacks("nofp")
    tid = tids["mutex"]
    time.sleep(0.2)
    r = now_report(ctx, "-p", pid)
    t = stack_entry(r, pid, tid, "mutex")
    lll = [f for f in user_frames(t) if f.get("symbol") == "__lll_lock_wait"
           and not f.get("inline")]
    if len(lll) != 1:
        raise Fail("test setup: without --debuginfo-path the mutex thread "
                   "has no __lll_lock_wait frame (is libc6-dbg installed?)",
                   show_stack(t))
    addr = lll[0]["addr"]
    r = now_report(ctx, "-p", pid, "--debuginfo-path", "/nonexistent")
    t = stack_entry(r, pid, tid, "mutex")
    details = show_stack(t)
    at = [f for f in user_frames(t) if f["addr"] == addr]
    if len(at) != 1:
        raise Fail(f"{len(at)} frames at {addr:#x} (__lll_lock_wait's "
                   "pc), expected 1", details)
    f = at[0]
    if f.get("symbol") is not None or not LIBC.match(f.get("module") or ""):
        raise Fail(f"the __lll_lock_wait frame is {frame_text(f)}, expected "
                   "symbol null in .../libc.so.6", details)
    syms = symbols(t)
    for want in (r"_*pthread_mutex_lock", r"stacks_block_mutex",
                 r"stacks_mutex_inline", r"stacks_mutex_outer",
                 r"stacks_worker"):
        if not any(s and re.fullmatch(want, s) for s in syms):
            raise Fail(f"no frame named {want}", details)
    out, tdetails = now_text(ctx, "-p", pid, "--debuginfo-path",
                             "/nonexistent")
    want = f"libc.so.6+{f['offset']:#x}"
    if not re.search(rf"^\s+{re.escape(want)}\b", out, re.M):
        raise Fail(f"text output has no frame line '{want}'",
                   details + tdetails)


def kernel_problem(t, words, block):
    """User frames first (with block among them), then kernel frames, one
    of whose symbols contains one of words, none of blockwatch's BPF."""
    stack = t["stack"]
    kern = [i for i, f in enumerate(stack) if f.get("kernel")]
    if not kern:
        return "no kernel frame"
    if kern[0] == 0:
        return "no user frame before the kernel frames"
    if kern != list(range(kern[0], len(stack))):
        return "a user frame after the kernel frames"
    if block not in [f.get("symbol") for f in stack[:kern[0]]]:
        return f"{block} not among the user frames"
    ksyms = [stack[i].get("symbol") or "" for i in kern]
    if not any(w in s for s in ksyms for w in words):
        return f"no kernel symbol containing {' or '.join(words)}"
    bpf = [s for i, s in zip(kern, ksyms)
           if re.match(r"(bpf_|__bpf_|__traceiter_)", s)
           or stack[i].get("module") == "[bpf]"]
    if bpf:
        return f"BPF frames in the kernel stack: {bpf}"
    return None


def t_stacks_kernel(ctx):
    """-K: a finished block (kernel stack taken at switch-out, below
    blockwatch's own program) and a still-blocked one (iterator)."""
    w, pid, tids = ctx.stacks("nofp")
    bw = ctx.blockwatch("-K", "-p", pid, "-t", "100ms", "-i", "60s", "-f",
                        "json")
    ctx.tracing(bw)
    ctx.stacks_go(w)
    time.sleep(0.1)
    bw.signal(signal.SIGINT)
    ctx.finish(bw)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    done = [t for _, _, t in entries(reports, pid=pid, tid=tids["sleep"])
            if not t.get("ongoing")]
    if len(done) != 1:
        raise Fail(f"{len(done)} finished entries for the sleep thread, "
                   "expected 1",
                   show_entries(entries(reports, pid=pid,
                                        tid=tids["sleep"])))
    problem = kernel_problem(done[0], ("nanosleep", "schedule"),
                             "stacks_block_sleep")
    if problem:
        raise Fail(f"finished sleep: {problem}", show_stack(done[0]))
    r = now_report(ctx, "-K", "-p", pid)
    t = stack_entry(r, pid, tids["mutex"], "mutex")
    problem = kernel_problem(t, ("futex", "schedule"), "stacks_block_mutex")
    if problem:
        raise Fail(f"--now mutex: {problem}", show_stack(t))


def deep_problem(t):
    """Leaf first: libc's read, stacks_block_deep, then only
    stacks_recurse (at least one); truncated."""
    stack = user_frames(t)
    names = [f.get("symbol") for f in stack]
    if "stacks_block_deep" not in names:
        return "stacks_block_deep not in the stack"
    i = names.index("stacks_block_deep")
    real = [f.get("symbol") for f in stack[:i] if not f.get("inline")]
    if not all(LIBC.match(f.get("module") or "") for f in stack[:i]) \
            or len(real) != 1 \
            or not re.fullmatch(STACK_LIBC["pipe"][0], real[0] or ""):
        return f"the frames above stacks_block_deep ({real}) are not " \
            "libc's read"
    rec = names[i + 1:]
    if not rec or any(n != "stacks_recurse" for n in rec):
        return (f"after stacks_block_deep: {len(rec)} frames, not all "
                "stacks_recurse" if rec else "nothing after stacks_block_deep")
    if t.get("truncated") is not True:
        return f"truncated {t.get('truncated')!r}, expected true"
    return None


def t_stacks_truncated(ctx):
    """A thread 400 frames (~90 KiB) deep: cut short with 4K and 64K of
    stack copied, 64K showing more."""
    w, pid, tids = ctx.stacks("nofp")
    tid = tids["deep"]
    time.sleep(0.2)
    got = {}
    for size in ("4K", "64K"):
        r, tail = stack_now(ctx, pid, "--stack-size", size)
        t = stack_entry(r, pid, tid, f"deep (--stack-size {size})", tail)
        problem = deep_problem(t)
        if problem:
            raise Fail(f"--stack-size {size}: {problem}",
                       show_stack(t)[:40])
        got[size] = t
    n4, n64 = len(got["4K"]["stack"]), len(got["64K"]["stack"])
    if n64 <= n4:
        raise Fail(f"{n64} frames with --stack-size 64K, not more than "
                   f"{n4} with 4K", show_stack(got["4K"]))


def t_stacks_jit(ctx):
    """Code with no module, named in /tmp/perf-PID.map, unwound through
    by its frame pointer."""
    w, m = ctx.simple(ctx.cfg.jit, "jit", r" (0x[0-9a-f]+) (0x[0-9a-f]+)")
    pid, tid = int(m.group(1)), int(m.group(2))
    start, size = int(m.group(3), 16), int(m.group(4), 16)
    path = f"/tmp/perf-{pid}.map"
    ctx.tmpfiles.append(path)
    time.sleep(0.2)
    r = now_report(ctx, "-p", pid)
    t = stack_entry(r, pid, tid, "jit-sleeper")
    stack = user_frames(t)
    details = show_stack(t)
    if not stack or stack[0].get("symbol") != "jit_sleeper" \
            or stack[0].get("module") != "[jit]":
        raise Fail("the leaf frame is not jit_sleeper in [jit]", details)
    if not start <= stack[0]["addr"] < start + size:
        raise Fail(f"jit_sleeper frame at {stack[0]['addr']:#x}, outside "
                   f"the code at {start:#x}+{size:#x}", details)
    if len(stack) < 2 or stack[1].get("symbol") != "jit_caller":
        raise Fail("no jit_caller frame right below jit_sleeper (unwound "
                   "by its frame pointer)", details)
    w.p.stdin.close()
    rc = w.wait(EXIT_TIMEOUT_S)
    if rc != 0:
        raise Fail(f"jit: {describe_rc(rc)}", w.tail())
    if os.path.exists(path):
        raise Fail(f"jit did not remove {path}")



def t_stacks_signal_handler(ctx):
    """A thread blocked inside a signal handler: its stack runs through
    glibc's __restore_rt, whose symbol has no size. The block is kept,
    that frame shown as module+offset if no symbol covers it, and the
    walk goes on into the interrupted function."""
    path = os.path.join(os.path.dirname(ctx.cfg.blockers), "sighandler")
    w, m = ctx.simple(path, "sighandler")
    pid, tid = int(m.group(1)), int(m.group(2))
    for mode in (("--now",), ("-d", "1500ms", "-i", "1s")):
        bw = ctx.blockwatch(*mode, "-f", "json", "-p", pid)
        if mode[0] != "--now":
            ctx.tracing(bw)
        ctx.finish(bw)
        reports = parse_reports(bw.stdout_text())
        mine = [t for _, _, t in entries(reports, pid=pid, tid=tid)]
        if not mine:
            raise Fail(f"{mode[0]}: no entry for the thread blocked in a signal "
                       "handler", bw.tail())
        for r in reports:
            if r["dropped"]["userspace"]:
                raise Fail(f"{mode[0]}: dropped.userspace {r['dropped']}")
        names = [f.get("symbol") or f"{f.get('module')}+{f.get('offset')}"
                 for f in mine[0]["stack"]]
        if "bw_in_handler" not in names or "bw_before_signal" not in names or \
                names.index("bw_in_handler") > names.index("bw_before_signal"):
            raise Fail(f"{mode[0]}: the stack does not go from the handler to "
                       "the interrupted function", names)
        if any(not n for n in names):
            raise Fail(f"{mode[0]}: a frame with neither name nor module", names)
def jit_fifo_problem(reports, pid, tid):
    """What is wrong with the jit-sleeper's entries when its perf map is a
    FIFO, or None: there must be one, and no JIT name from the FIFO."""
    mine = [t for _, _, t in entries(reports, pid=pid, tid=tid)]
    if not mine:
        return "no entry for the jit-sleeper"
    named = [t for t in mine if any(f.get("module") == "[jit]"
                                    for f in t["stack"])]
    if named:
        return "a [jit] frame named from a FIFO"
    return None


def t_stacks_jit_fifo(ctx):
    """/tmp/perf-PID.map is a FIFO nobody writes: with -p and -d, and
    system-wide until SIGINT, blockwatch reports on time and exits, with
    no JIT names (it used to wait in open() for a writer, for ever)."""
    w, m = ctx.simple(ctx.cfg.jit, "jit", r" (0x[0-9a-f]+) (0x[0-9a-f]+)",
                      args=("fifo",))
    pid, tid = int(m.group(1)), int(m.group(2))
    path = f"/tmp/perf-{pid}.map"
    ctx.tmpfiles.append(path)
    if not stat.S_ISFIFO(os.lstat(path).st_mode):
        raise Fail(f"jit fifo: {path} is not a FIFO")
    bw = ctx.blockwatch("-t", "100ms", "-i", "1s", "-d", "2500ms", "-f",
                        "json", "-p", pid)
    ctx.tracing(bw)
    ctx.finish(bw, timeout=10)
    reports = parse_reports(bw.stdout_text(), "-p stdout")
    problem = jit_fifo_problem(reports, pid, tid)
    if problem:
        raise Fail(f"-p: {problem}", show_entries(entries(reports, pid=pid)))
    bw = ctx.blockwatch("-t", "100ms", "-i", "1s", "-f", "json",
                        name="blockwatch system-wide")
    ctx.tracing(bw)
    wait_reports(bw, 1, 10)
    bw.signal(signal.SIGINT)
    ctx.finish(bw, timeout=10)
    reports = parse_reports(bw.stdout_text(), "system-wide stdout")
    problem = jit_fifo_problem(reports, pid, tid)
    if problem:
        raise Fail(f"system-wide: {problem}",
                   show_entries(entries(reports, pid=pid)))
    w.p.stdin.close()
    rc = w.wait(EXIT_TIMEOUT_S)
    if rc != 0:
        raise Fail(f"jit fifo: {describe_rc(rc)}", w.tail())


# ------------------------------------------------------------------ caches
#
# Names come from caches that outlive a report and a process: a pc's
# frames per file (by build-id), a file's sorted symbols, walks
# remembered per process, stacks per process. None may change a name,
# nor keep one the addresses no longer mean.

def frame_key(f):
    """A frame without its addresses (another process: ASLR)."""
    return (f.get("symbol"), f.get("symoff"), f.get("module"),
            f.get("file"), f.get("line"), bool(f.get("inline")),
            bool(f.get("kernel")))


def t_stacks_cache_warm(ctx):
    """Two processes of stacks_nofp under one session, three reports: each
    blocked thread's stack is named cold (the first process, the first
    report) and from warm caches (the second process, the later
    reports), and matches, frame by frame, what a fresh --now (a new
    blockwatch, nothing cached) names."""
    wa, pa, ta = ctx.stacks("nofp")
    wb, pb, tb = ctx.stacks("nofp")
    time.sleep(0.2)
    cold = now_report(ctx, "-p", pa)
    bw = ctx.blockwatch("-p", f"{pa},{pb}", "-t", "100ms", "-i", "1s", "-f",
                        "json")
    ctx.tracing(bw)
    wait_reports(bw, 3, 15)
    bw.signal(signal.SIGINT)
    ctx.finish(bw)
    reports = parse_reports(bw.stdout_text(), expect_threshold=100 * MS)
    if len(reports) < 3:
        raise Fail(f"{len(reports)} reports, expected at least 3")
    for mode in ("mutex", "condvar", "epoll", "pipe"):
        want = stack_entry(cold, pa, ta[mode], mode)
        check_chain_entry(ctx, want, mode, program_module("nofp"),
                          f"{mode} --now")
        for i, r in enumerate(reports[:3]):
            for pid, tids, who in ((pa, ta, "first"), (pb, tb, "second")):
                got = stack_entry(r, pid, tids[mode], mode)
                a = [frame_key(f) for f in want["stack"]]
                b = [frame_key(f) for f in got["stack"]]
                if a != b or got.get("truncated") != want.get("truncated"):
                    raise Fail(f"{mode} thread of the {who} process, report "
                               f"{i + 1}: not the stack a fresh --now names",
                               show_stack(want, "--now") +
                               show_stack(got, f"report {i + 1}"))
    for w in (wa, wb):
        w.p.stdin.close()
        w.wait(EXIT_TIMEOUT_S)


def swap_entries(reports, pid, prefix):
    """{side: [entries]} of pid's finished entries whose stack has a frame
    PREFIXa or PREFIXb, with the frame."""
    got = {}
    for _, _, t in entries(reports, pid=pid):
        for f in user_frames(t):
            s = f.get("symbol") or ""
            if s.startswith(prefix) and s[len(prefix):] in ("a", "b"):
                got.setdefault(s[len(prefix):], []).append((t, f))
                break
    return got


def swap_run(ctx, args, prefix, lines):
    """Runs swap_a ARGS under blockwatch -p; returns (reports, pid, the
    lines matched by LINES in order)."""
    d = os.path.dirname(ctx.cfg.blockers)
    w, m = ctx.simple(os.path.join(d, "swap_a"), "swap", args=args)
    pid = int(m.group(1))
    bw = ctx.blockwatch("-p", pid, "-t", "200ms", "-i", "60s", "-f", "json")
    ctx.tracing(bw)
    w.send("go\n")
    got = []
    for pattern in lines:
        mm = w.wait_line("out", pattern, 10)
        if not mm:
            raise Fail(f"swap did not print /{pattern}/ "
                       f"({describe_rc(w.wait(0))})", w.tail())
        got.append(mm)
    if not w.wait_line("out", r"^done$", 10):
        raise Fail(f"swap did not print 'done' ({describe_rc(w.wait(0))})",
                   w.tail())
    time.sleep(0.3)
    bw.signal(signal.SIGINT)
    ctx.finish(bw)
    w.p.stdin.close()
    rc = w.wait(EXIT_TIMEOUT_S)
    if rc != 0:
        raise Fail(f"swap: {describe_rc(rc)}", w.tail())
    return parse_reports(bw.stdout_text(), expect_threshold=200 * MS), pid, got


def check_swapped(reports, pid, prefix, modules, what):
    got = swap_entries(reports, pid, prefix)
    details = show_entries(entries(reports, pid=pid))
    for side in ("a", "b"):
        es = got.get(side, [])
        if len(es) != 1 or es[0][0]["count"] != 1:
            raise Fail(f"{what}: {len(es)} entries with {prefix}{side}, "
                       "expected one of one 300 ms block", details)
        t, f = es[0]
        if not (f.get("module") or "").endswith(modules[side]):
            raise Fail(f"{what}: {prefix}{side} named in module "
                       f"{f.get('module')!r}, expected {modules[side]}",
                       details)
        if not within(t["max_ns"], 300 * MS):
            raise Fail(f"{what}: the {prefix}{side} block took "
                       f"{t['max_ns'] / MS:.0f} ms, expected ~300", details)


def t_stacks_cache_exec(ctx):
    """A process blocks in swap_block_a, execs swap_b and blocks in
    swap_block_b, at the same address: the second block is named from
    the new program, never from what was cached of the old."""
    d = os.path.dirname(ctx.cfg.blockers)
    reports, pid, got = swap_run(
        ctx, ("exec", os.path.join(d, "swap_b")), "swap_block_",
        [r"^exec a (0x[0-9a-f]+)$", r"^exec b (0x[0-9a-f]+)$"])
    if got[0].group(1) != got[1].group(1):
        raise Fail(f"swap_block_a at {got[0].group(1)}, swap_block_b at "
                   f"{got[1].group(1)}: not the same address, the test "
                   "tests nothing")
    check_swapped(reports, pid, "swap_block_",
                  {"a": "/swap_a", "b": "/swap_b"}, "exec")


def t_stacks_cache_dlopen(ctx):
    """dlopen libswap_a.so, block in it, dlclose it, dlopen libswap_b.so
    (mapped where libswap_a.so was), block in it: the second block is
    named from libswap_b.so."""
    d = os.path.dirname(ctx.cfg.blockers)
    reports, pid, got = swap_run(
        ctx, ("dl", os.path.join(d, "libswap_a.so"),
              os.path.join(d, "libswap_b.so")), "swaplib_block_",
        [r"^dl a (0x[0-9a-f]+)$", r"^dl b (0x[0-9a-f]+)$"])
    if got[0].group(1) != got[1].group(1):
        raise Fail(f"libswap_a.so at {got[0].group(1)}, libswap_b.so at "
                   f"{got[1].group(1)}: not the same address, the test "
                   "tests nothing")
    check_swapped(reports, pid, "swaplib_block_",
                  {"a": "/libswap_a.so", "b": "/libswap_b.so"}, "dlopen")


def t_stacks_cache_dlopen_late(ctx):
    """Blocks in libswap_a.so, then again, then dlcloses it and dlopens
    libswap_b.so where it was and blocks in it, while blockwatch is
    stopped: reading the second block after the swap, blockwatch still
    names it from libswap_a.so (the loader's dlclose came after it in
    the ring), and the third from libswap_b.so. Rereading the maps when
    a record is read (every 100 ms) named the second from libswap_b.so."""
    d = os.path.dirname(ctx.cfg.blockers)
    w, m = ctx.simple(os.path.join(d, "swap_a"), "swap",
                      args=("late", os.path.join(d, "libswap_a.so"),
                            os.path.join(d, "libswap_b.so")))
    pid = int(m.group(1))
    bw = ctx.blockwatch("-p", pid, "-t", "200ms", "-i", "500ms",
                        "-f", "json")
    ctx.tracing(bw)
    w.send("go\n")
    base = {}
    for side in ("dl a", "late a"):
        mm = w.wait_line("out", rf"^{side} (0x[0-9a-f]+)$", 10)
        if not mm:
            raise Fail(f"swap did not print '{side}' "
                       f"({describe_rc(w.wait(0))})", w.tail())
        base[side] = mm.group(1)
    # the first block's record named in a report (not the sleep seen
    # still going): libswap_a.so in the maps read, its markers read
    done_a = (r'"ongoing":false,[^{]*"stack":\[(\{[^}]*\},)*'
              r'\{[^}]*"symbol":"swaplib_block_a"')
    if not bw.wait_line("out", done_a, 10):
        raise Fail("no report named the first block", bw.tail())
    bw.signal(signal.SIGSTOP)
    try:
        w.send("again\n")
        mm = w.wait_line("out", r"^dl b (0x[0-9a-f]+)$", 10)
        if not mm or not w.wait_line("out", r"^done$", 10):
            raise Fail(f"swap did not swap ({describe_rc(w.wait(0))})",
                       w.tail())
    finally:
        bw.signal(signal.SIGCONT)
    if mm.group(1) != base["dl a"]:
        raise Fail(f"libswap_a.so at {base['dl a']}, libswap_b.so at "
                   f"{mm.group(1)}: not the same address, the test tests "
                   "nothing")
    time.sleep(0.5)
    bw.signal(signal.SIGINT)
    ctx.finish(bw)
    w.p.stdin.close()
    rc = w.wait(EXIT_TIMEOUT_S)
    if rc != 0:
        raise Fail(f"swap: {describe_rc(rc)}", w.tail())
    reports = parse_reports(bw.stdout_text(), expect_threshold=200 * MS)
    got = swap_entries(reports, pid, "swaplib_block_")
    details = show_entries(entries(reports, pid=pid))
    want = {"a": 2, "b": 1}
    for side, n in want.items():
        es = got.get(side, [])
        blocks = sum(t["count"] for t, _ in es)
        if blocks != n:
            raise Fail(f"{blocks} blocks named swaplib_block_{side}, "
                       f"expected {n}", details)
        for t, f in es:
            if not (f.get("module") or "").endswith(f"/libswap_{side}.so"):
                raise Fail(f"swaplib_block_{side} named in module "
                           f"{f.get('module')!r}", details)


TESTS = [(f"stacks-{variant}-{mode}", lambda c, v=variant, m=mode:
          t_stacks(c, v, m))
         for variant in ("fp", "nofp") for mode in STACK_MODES] + [
    ("stacks-cxx", t_stacks_cxx),
    ("stacks-deleted-binary", t_stacks_deleted),
    ("stacks-container", t_stacks_container),
    ("stacks-vs-eu-stack", t_stacks_vs_eu_stack),
    ("stacks-vs-eu-stack-cxx", lambda c: t_stacks_vs_eu_stack(c, "cxx")),
    ("stacks-no-debuginfo", t_stacks_no_debuginfo),
    ("stacks-no-lines", t_stacks_no_lines),
    ("stacks-debug-cache", t_stacks_debug_cache),
    ("stacks-kernel", t_stacks_kernel),
    ("stacks-truncated", t_stacks_truncated),
    ("stacks-jit", t_stacks_jit),
    ("stacks-signal-handler", t_stacks_signal_handler),
    ("stacks-jit-fifo", t_stacks_jit_fifo),
    ("stacks-cache-warm", t_stacks_cache_warm),
    ("stacks-cache-exec", t_stacks_cache_exec),
    ("stacks-cache-dlopen", t_stacks_cache_dlopen),
    ("stacks-cache-dlopen-late", t_stacks_cache_dlopen_late),
]
