"""The whole-run formats, each read by its real consumer: folded stacks
and pprof in speedscope (its own page, headless Chromium), pprof in `go
tool pprof` (-raw, -top), the goroutine profile against the Go
runtime's own with -diff_base, the SVG flame graph in Chromium (its own
search and zoom); written again on SIGUSR1 while tracing goes on."""

import base64
import html
import json
import os
import re
import signal
import tempfile
import time

from lib.consumers import Raw, go_tool_pprof, headless, out_dir, speedscope
from lib.consumers import speedscope_index
from lib.errors import Fail
from lib.reports import entries, parse_reports
from test_go import start_go
from test_stacks import stack_marks


def _tmpdir(ctx):
    d = tempfile.mkdtemp(prefix="bw-e2e-prof-")
    ctx.tmpdirs.append(d)
    return d


def _json_total(reports):
    """The off-CPU time the JSON reports account for: every process's
    blocked_ns (its entries' part inside the interval), added up."""
    return sum(p["blocked_ns"] for r in reports for p in r["processes"])


def _folded(path):
    """{stack: value} of a folded file; each line 'frames value'."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            stack, _, value = line.rstrip("\n").rpartition(" ")
            if not stack or not value.isdigit() or stack in out:
                raise Fail(f"{path}:{n}: not a folded line (or a stack "
                           f"twice): {line[:200]!r}")
            out[stack] = int(value)
    return out


def _close(what, got, want, tol=0.01):
    if not want or abs(got - want) > tol * want:
        raise Fail(f"{what}: {got}, expected {want} within {tol:.0%}")


def t_folded_speedscope(ctx):
    """A worker blocked 4 x 300 ms: folded and pprof from one run, loaded
    into speedscope; its totals add up to the JSON reports' within 1%,
    the worker's stack is there, root first."""
    tmp = _tmpdir(ctx)
    js, fo, pp = (os.path.join(tmp, n) for n in ("r.json", "r.folded",
                                                  "r.pb.gz"))
    w, pid, tid = ctx.workload("sleep", 300, 4)
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "500ms",
                        "-f", f"json:{js}", "-f", f"folded:{fo}",
                        "-f", f"pprof:{pp}")
    ctx.tracing(bw)
    ctx.go(w, 20)
    ctx.finish(bw)  # the target exited: the final report, then exit 0
    with open(js, encoding="utf-8") as f:
        reports = parse_reports(f.read(), where=js)
    total_ns = _json_total(reports)
    folded = _folded(fo)
    _close("folded total (us) vs the JSON reports'", sum(folded.values()),
           total_ns / 1000)
    worker = [s for s in folded
              if s.startswith("blockers;") and "bw_block_sleep" in s]
    if len(worker) != 1:
        raise Fail("no single folded stack through bw_block_sleep",
                   list(folded)[:10])
    frames = worker[0].split(";")
    if frames.index("bw_block_sleep") < frames.index("worker"):
        raise Fail("folded stack not root first", [worker[0]])
    mine = sum(t["interval_blocked_ns"]
               for _, _, t in entries(reports, pid=pid, tid=tid))
    _close("the worker's folded stack (us) vs its JSON entries'",
           folded[worker[0]], mine / 1000)

    table = speedscope(ctx, fo)
    root = table.get("blockers")
    if not root:
        raise Fail("speedscope: no 'blockers' root frame in the folded "
                   "profile", list(table)[:20])
    _close("speedscope's total of the folded profile (us) vs the JSON "
           "reports'", root[0], total_ns / 1000)
    if "bw_block_sleep" not in table:
        raise Fail("speedscope: no bw_block_sleep", list(table)[:20])
    _close("speedscope's bw_block_sleep (us) vs the worker's JSON entries",
           table["bw_block_sleep"][0], mine / 1000)

    table = speedscope(ctx, pp)
    _close("speedscope's total of the pprof profile (ns, the default "
           "sample type offcpu) vs the JSON reports'",
           sum(s for _, s in table.values()), total_ns)
    _close("speedscope's bw_block_sleep in pprof (ns) vs JSON",
           table.get("bw_block_sleep", (0, 0))[0], mine)
    # for the people reading the test output
    shot = os.path.join(out_dir(ctx.cfg), "speedscope-folded.png")
    loader = os.path.join(tmp, "shot.js")
    with open(fo, "rb") as f, open(loader, "w") as o:
        o.write("speedscope.loadFileFromBase64(%s, %s)" % (
            json.dumps("blockwatch.folded"),
            json.dumps(base64.b64encode(f.read()).decode())))
    headless(ctx, f"file://{speedscope_index(ctx.cfg)}#localProfilePath="
             f"{loader}&view=left-heavy", screenshot=shot)


def t_pprof_go_tool(ctx):
    """--now over stacks.c: `go tool pprof -raw` reads the file: sample
    types, labels, the mutex thread's stack with its inlined call as two
    Lines of one Location at the marked lines, a mapping with the
    binary's build-id; its value the JSON entry's; -top reads it too."""
    tmp = _tmpdir(ctx)
    pp, js = os.path.join(tmp, "now.pb.gz"), os.path.join(tmp, "now.json")
    w, pid, tids = ctx.stacks("nofp")
    time.sleep(0.3)
    bw = ctx.blockwatch("--now", "-p", pid, "-f", f"pprof:{pp}",
                        "-f", f"json:{js}")
    ctx.finish(bw)
    raw = Raw(go_tool_pprof(ctx, "-raw", pp))
    if raw.types != ["blocks/count", "offcpu/nanoseconds"]:
        raise Fail(f"sample types {raw.types}", raw.text.splitlines()[:12])
    tid = tids["mutex"]
    mine = [s for s in raw.samples if s[2].get("tid") == str(tid)]
    if len(mine) != 1:
        raise Fail(f"{len(mine)} samples for the mutex thread {tid}",
                   raw.text.splitlines()[:40])
    s = mine[0]
    want = {"pid": str(pid), "tid": str(tid), "reason": "futex_wait",
            "ongoing": "true"}
    labels = s[2]
    if "comm" not in labels or any(labels.get(k) != v for k, v in
                                   want.items() if k != "reason"):
        raise Fail(f"labels {labels}, expected {want} and comm")
    funcs = raw.funcs(s)
    if "stacks_block_mutex" not in funcs:
        raise Fail("no stacks_block_mutex in the mutex thread's sample",
                   funcs)
    marks = stack_marks(ctx)
    inl = [raw.locations[i] for i in s[1]
           if any(fn == "stacks_mutex_inline" for fn, _, _ in
                  raw.locations[i][1])]
    if len(inl) != 1:
        raise Fail("no single location with stacks_mutex_inline", funcs)
    lines = [(fn, os.path.basename(f), n) for fn, f, n in inl[0][1]]
    expect = [("stacks_mutex_inline", "stacks.c", marks[("mutex", "inline")]),
              ("stacks_mutex_outer", "stacks.c", marks[("mutex", "outer")])]
    if lines != expect:
        raise Fail(f"the inlined call's location has lines {lines}, "
                   f"expected {expect} (inline first, one Location)")
    maps = [m for m in raw.mappings if "stacks_nofp" in m]
    if not maps or not re.search(r" [0-9a-f]{40}", maps[0]):
        raise Fail("no mapping of stacks_nofp with a build-id",
                   raw.mappings)
    with open(js, encoding="utf-8") as f:
        reports = parse_reports(f.read(), where=js)
    ent = [t for _, _, t in entries(reports, pid=pid, tid=tid)]
    if len(ent) != 1 or s[0][1] != ent[0]["interval_blocked_ns"]:
        raise Fail(f"offcpu {s[0][1]} ns, the JSON entry says "
                   f"{[t['interval_blocked_ns'] for t in ent]}")
    top = go_tool_pprof(ctx, "-top", pp)
    if "Type: offcpu" not in top or not re.search(
            r"^\s*\S+\s+\S+%.*stacks_block_mutex$", top, re.M):
        raise Fail("-top: not offcpu, or no stacks_block_mutex row",
                   top.splitlines()[:20])
    if not re.search(r"^File: stacks_nofp$", top, re.M):
        raise Fail("-top: the main binary is not stacks_nofp (pprof takes "
                   "the first mapping for it)", top.splitlines()[:3])


def _leak_counts(raw):
    return sum(s[0][0] for s in raw.samples if "main.leakOne" in raw.funcs(s))


def t_pprof_go_diff(ctx):
    """pprof-go against the Go fixture's own goroutine profile (debug=0,
    as /debug/pprof/goroutine serves it), written just before, the leak
    stopped: -diff_base shows zero difference in the leak group."""
    tmp = _tmpdir(ctx)
    os.chmod(tmp, 0o777)
    rt, pp = os.path.join(tmp, "runtime.pb.gz"), os.path.join(tmp, "bw.pb.gz")
    w, pid = start_go(ctx, "default", "-leak", "50", "-send", "3")
    time.sleep(1.5)
    w.send("stopleak\n")
    if not w.wait_line("out", r"^stopped$", 10):
        raise Fail("go fixture did not stop leaking", w.tail())
    time.sleep(0.3)  # the last leaked goroutine parks
    w.send(f"profile0 {rt}\n")
    if not w.wait_line("out", r"^profiled \d+$", 10):
        raise Fail("go fixture did not write its goroutine profile", w.tail())
    bw = ctx.blockwatch("--now", "-p", pid, "-f", f"pprof-go:{pp}")
    ctx.finish(bw)
    theirs, ours = Raw(go_tool_pprof(ctx, "-raw", rt)), \
        Raw(go_tool_pprof(ctx, "-raw", pp))
    if ours.types != ["goroutine/count"]:
        raise Fail(f"sample types {ours.types}, expected goroutine/count")
    n = _leak_counts(theirs)
    if n < 40 or _leak_counts(ours) != n:
        raise Fail(f"main.leakOne: {_leak_counts(ours)} goroutines in "
                   f"blockwatch's profile, {n} in the runtime's")
    leak = [s for s in ours.samples if "main.leakOne" in ours.funcs(s)]
    if leak[0][2].get("wait_reason") != "chan send":
        raise Fail(f"leak group labels {leak[0][2]}, expected wait_reason "
                   "chan send")
    plain = go_tool_pprof(ctx, "-top", "-focus=main.leakOne", pp)
    if not re.search(rf"^\s*0\s.*\s{n}\s.*main\.leakOne$", plain, re.M):
        raise Fail(f"-top -focus=main.leakOne: no row with cum {n}",
                   plain.splitlines()[:12])
    diff = go_tool_pprof(ctx, "-top", "-focus=main.leakOne",
                         f"-diff_base={rt}", pp)
    rows = [x for x in diff.splitlines() if re.match(r"^\s*-?\d", x)]
    if rows or "accounting for 0," not in diff:
        raise Fail("-diff_base against the runtime's profile: the leak "
                   "group differs", diff.splitlines()[:16])


def t_sigusr1(ctx):
    """SIGUSR1 writes the whole-run outputs as of the last report and
    tracing goes on; the file then holds the final profile, larger."""
    tmp = _tmpdir(ctx)
    fo = os.path.join(tmp, "r.folded")
    w, pid, tid = ctx.workload("sleep", 300, 6)
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "300ms",
                        "-f", f"folded:{fo}", "-f", "json")
    ctx.tracing(bw)
    w.send("go\n")
    time.sleep(1.5)
    bw.signal(signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while not os.path.getsize(fo):
        if time.monotonic() > deadline:
            raise Fail("no folded profile 5 s after SIGUSR1", bw.tail())
        time.sleep(0.05)
    if not bw.running():
        raise Fail("blockwatch stopped on SIGUSR1", bw.tail())
    first = _folded(fo)
    if not any("bw_block_sleep" in s for s in first):
        raise Fail("the SIGUSR1 profile has no bw_block_sleep", list(first))
    if not w.wait_line("out", r"^done$", 20):
        raise Fail("workload did not finish", w.tail())
    ctx.finish(bw)
    final = _folded(fo)
    if sum(final.values()) <= sum(first.values()):
        raise Fail(f"final profile {sum(final.values())} us, not more than "
                   f"at SIGUSR1 ({sum(first.values())} us)")


def _frames(dom):
    """[(name, classes, tooltip)] of the frames an SVG page drew."""
    out = []
    for m in re.finditer(r'<g class="(f[^"]*)" data-name="([^"]*)"><title>'
                         r'([^<]*)</title>', dom):
        out.append((html.unescape(m.group(2)), m.group(1).split(),
                    html.unescape(m.group(3))))
    return out


def t_svg_chromium(ctx):
    """-f svg opened in headless Chromium: a screenshot into the test
    output; its own search (#search=) matches bw_block_sleep alone, at
    the worker's share of the JSON total; zoom (#zoom=) on the worker
    keeps its stack and ancestors only; tooltips give time and share."""
    tmp = _tmpdir(ctx)
    js, sv = os.path.join(tmp, "r.json"), os.path.join(tmp, "r.svg")
    w, pid, tid = ctx.workload("sleep", 300, 3)
    bw = ctx.blockwatch("-p", pid, "-t", "100ms", "-i", "500ms",
                        "-f", f"json:{js}", "-f", f"svg:{sv}")
    ctx.tracing(bw)
    ctx.go(w, 20)
    ctx.finish(bw)
    with open(js, encoding="utf-8") as f:
        reports = parse_reports(f.read(), where=js)
    total = _json_total(reports)
    mine = sum(t["interval_blocked_ns"]
               for _, _, t in entries(reports, pid=pid, tid=tid))
    shot = os.path.join(out_dir(ctx.cfg), "flamegraph.png")
    if os.path.exists(shot):
        os.unlink(shot)
    headless(ctx, f"file://{sv}", screenshot=shot, size=(1200, 320),
             budget_ms=3000)
    if not os.path.getsize(shot) > 5000:
        raise Fail(f"no screenshot of the flame graph at {shot}")
    dom = headless(ctx, f"file://{sv}#search=^bw_block_sleep$",
                   dump_dom=True, budget_ms=3000)
    frames = _frames(dom)
    names = {n for n, _, _ in frames}
    for want in ("all", "blockers", "worker", "bw_block_sleep", "main"):
        if want not in names:
            raise Fail(f"the flame graph has no frame {want}", sorted(names))
    matched = [n for n, c, _ in frames if "match" in c]
    if matched != ["bw_block_sleep"]:
        raise Fail(f"search ^bw_block_sleep$ matched {matched}")
    m = re.search(r"Matched: ([\d.]+)%", dom)
    share = 100 * mine / total
    if not m or abs(float(m.group(1)) - share) > 1:
        raise Fail(f"search says {m and m.group(0)}, the worker's share of "
                   f"the JSON total is {share:.1f}%")
    tip = next(t for n, _, t in frames if n == "bw_block_sleep")
    if not re.match(r"^bw_block_sleep: [\d.]+ (s|ms) \([\d.]+% of all\), "
                    r"sleep", tip):
        raise Fail(f"tooltip {tip!r}: no time, share and reason")
    dom = headless(ctx, f"file://{sv}#zoom=worker", dump_dom=True,
                   budget_ms=3000)
    zoomed = {n for n, _, _ in _frames(dom)}
    if "bw_block_sleep" not in zoomed or "all" not in zoomed or \
            "wait_for_go" in zoomed:
        raise Fail("zoom on worker: not its stack and ancestors only",
                   sorted(zoomed))


TESTS = [
    ("profiles-folded-speedscope", t_folded_speedscope),
    ("profiles-pprof-go-tool", t_pprof_go_tool),
    ("profiles-pprof-go-diff", t_pprof_go_diff),
    ("profiles-sigusr1", t_sigusr1),
    ("profiles-svg-chromium", t_svg_chromium),
]
