"""blockwatch's reports: the JSON schema check every report gets
(check_report: doc/blockwatch-report.schema.json through Debian's
python3-jsonschema, then what a schema cannot say), parsing
(parse_reports), finding and showing entries, and the generic helpers
around --now snapshots and interval reports."""

import datetime
import json
import os
import re
import time

from .config import MS, ROOT, TOLERANCE
from .errors import Fail
from .procs import describe_rc


RFC3339 = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


REASONS = {"mutex", "condvar", "futex", "epoll", "poll", "read", "accept",
           "write", "connect", "wait", "sleep", "io", "stopped"}
FUTEX_REASONS = {"mutex", "condvar", "futex"}
FD_REASONS = {"read", "accept", "write", "connect"}


SCHEMA_PATH = os.path.join(ROOT, "doc", "blockwatch-report.schema.json")


def _load_validator():
    """(validator, None), or (None, why not): a missing python3-jsonschema
    fails every test that reads a JSON report, it is never skipped."""
    try:
        import jsonschema
    except ImportError as e:
        return None, (f"python3-jsonschema is needed to check reports "
                      f"against {SCHEMA_PATH} (tools/install-deps.sh): {e}")
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema), None


# read once at import; never changed after
VALIDATOR, NO_VALIDATOR = _load_validator()


def schema_problem(r):
    """What is wrong with report r by the schema file, or None."""
    if VALIDATOR is None:
        return NO_VALIDATOR
    import jsonschema
    err = jsonschema.exceptions.best_match(VALIDATOR.iter_errors(r))
    if err is None:
        return None
    where = "/".join(str(x) for x in err.absolute_path) or "(the report)"
    return (f"does not validate against {os.path.basename(SCHEMA_PATH)} "
            f"at {where}: {err.message[:300]}")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_report(r, where):
    """Checks the JSON report schema of the contract; raises Fail."""
    def bad(what):
        raise Fail(f"{where}: {what}")

    if not isinstance(r, dict):
        bad("report is not a JSON object")
    problem = schema_problem(r)
    if problem:
        bad(problem)
    for key in ("time", "interval_ns", "threshold_ns", "dropped",
                "processes"):
        if key not in r:
            bad(f"report has no '{key}'")
    if not isinstance(r["time"], str) or not RFC3339.match(r["time"]):
        bad(f"time {r['time']!r} is not RFC 3339")
    if not _is_int(r["interval_ns"]) or r["interval_ns"] < 0:
        bad(f"bad interval_ns {r['interval_ns']!r}")
    if not _is_int(r["threshold_ns"]):
        bad(f"bad threshold_ns {r['threshold_ns']!r}")
    if (not isinstance(r["dropped"], dict)
            or not _is_int(r["dropped"].get("ringbuf"))
            or not all(_is_int(v) and v >= 0
                       for v in r["dropped"].values())):
        bad(f"bad dropped {r['dropped']!r}")
    if not isinstance(r["processes"], list):
        bad("processes is not a list")
    for proc in r["processes"]:
        if (not isinstance(proc, dict) or not _is_int(proc.get("pid"))
                or not isinstance(proc.get("comm"), str)
                or not isinstance(proc.get("threads"), list)):
            bad(f"bad process {str(proc)[:200]}")
        keys = set()
        for t in proc["threads"]:
            if not isinstance(t, dict):
                bad(f"bad thread entry {str(t)[:200]}")
            for key in ("tid", "blocked_ns", "count", "max_ns"):
                if not _is_int(t.get(key)) or t[key] < 0:
                    bad(f"pid {proc['pid']}: bad {key} in {str(t)[:200]}")
            reason = t.get("reason")
            if not isinstance(reason, str) or not (
                    reason in REASONS or (reason.startswith("other:")
                                          and len(reason) > 6)):
                bad(f"pid {proc['pid']} tid {t['tid']}: bad reason "
                    f"{reason!r}")
            if not isinstance(t.get("comm"), str):
                bad(f"tid {t['tid']}: bad comm {t.get('comm')!r}")
            if t["max_ns"] > t["blocked_ns"]:
                bad(f"tid {t['tid']}: max_ns {t['max_ns']} > blocked_ns "
                    f"{t['blocked_ns']}")
            stack = t.get("stack")
            if not isinstance(stack, list):
                bad(f"tid {t['tid']}: stack is not a list")
            for f in stack:
                if (not isinstance(f, dict) or "addr" not in f
                        or not (f.get("symbol") is None
                                or isinstance(f["symbol"], str))
                        or "module" not in f or "offset" not in f):
                    bad(f"tid {t['tid']}: bad frame {str(f)[:200]}")
            if not isinstance(t.get("ongoing"), bool):
                bad(f"tid {t['tid']}: 'ongoing' is not a boolean")
            if t.get("ongoing") and not _is_int(t.get("age_ns")):
                bad(f"tid {t['tid']}: ongoing entry without age_ns")
            if not _is_int(t.get("interval_blocked_ns")) or \
                    t["interval_blocked_ns"] > t["blocked_ns"] or \
                    (not t.get("ongoing")
                     and t["interval_blocked_ns"] != t["blocked_ns"]):
                bad(f"tid {t['tid']}: interval_blocked_ns "
                    f"{t.get('interval_blocked_ns')!r} vs blocked_ns "
                    f"{t['blocked_ns']}")
            # blocked_ns is the part of the block inside the interval
            if t.get("ongoing") and t["age_ns"] + 5 * MS < t["blocked_ns"]:
                bad(f"tid {t['tid']}: age_ns {t['age_ns']} < blocked_ns "
                    f"{t['blocked_ns']}")
            problem = detail_problem(t) or owner_problem(t)
            if problem:
                bad(f"pid {proc['pid']} tid {t['tid']}: {problem}")
            # a thread can have a finished block and a still-running one
            # with the same stack: two entries, told apart by 'ongoing';
            # or blocks on different objects (detail) with the same stack
            key = (t["tid"], reason, t.get("ongoing"),
                   tuple(str(f["addr"]) for f in stack),
                   json.dumps(t.get("detail"), sort_keys=True))
            if key in keys:
                bad(f"pid {proc['pid']}: two entries for tid {t['tid']} "
                    f"with the same reason, object and stack")
            keys.add(key)
    cycles = r.get("deadlocks")
    if not isinstance(cycles, list) or not all(
            isinstance(c, list) and c and all(_is_int(x) for x in c)
            for c in cycles):
        bad(f"deadlocks {cycles!r} is not a list of lists of TIDs")
    sets = [frozenset(c) for c in cycles]
    if len(set(sets)) != len(sets):
        bad(f"a deadlock cycle listed twice: {cycles}")


def _fd_obj(o):
    return (isinstance(o, dict) and _is_int(o.get("fd"))
            and isinstance(o.get("target"), str))


def detail_problem(t):
    """What is wrong with the shape of an entry's detail, or None."""
    if "detail" not in t:
        return "no 'detail' (an object or null)"
    d = t["detail"]
    if d is None:
        return None
    if not isinstance(d, dict):
        return f"detail {d!r} is neither an object nor null"
    reason = t["reason"]
    if reason in FUTEX_REASONS:
        if not (isinstance(d.get("kind"), str)
                and isinstance(d.get("futex"), str)
                and re.fullmatch(r"0x[0-9a-f]+", d["futex"])
                and isinstance(d.get("op"), str)):
            return f"bad futex detail {d!r}"
    elif reason == "epoll":
        if not (_is_int(d.get("epfd")) and isinstance(d.get("fds"), list)
                and all(_fd_obj(o) for o in d["fds"])):
            return f"bad epoll detail {d!r}"
    elif reason == "poll":
        if not (isinstance(d.get("fds"), list)
                and all(_fd_obj(o) for o in d["fds"])):
            return f"bad poll detail {d!r}"
    elif reason in FD_REASONS:
        if not _fd_obj(d):
            return f"bad {reason} detail {d!r}"
    return None


def owner_problem(t):
    owner = t.get("lock_owner")
    if owner is None:
        if t.get("lock_owner_blocked_ns") is not None:
            return "lock_owner_blocked_ns without lock_owner"
        return None
    if not _is_int(owner) or owner <= 0:
        return f"bad lock_owner {owner!r}"
    if not isinstance(t.get("lock_owner_comm"), str):
        return f"bad lock_owner_comm {t.get('lock_owner_comm')!r}"
    ob = t.get("lock_owner_blocked_ns")
    if ob is not None and (not _is_int(ob) or ob < 0):
        return f"bad lock_owner_blocked_ns {ob!r}"
    return None


def parse_reports(text, where="stdout", expect_threshold=None):
    reports = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except ValueError as e:
            raise Fail(f"{where} line {n} is not JSON ({e}): {line[:120]!r}")
        check_report(r, f"{where} report {len(reports) + 1}")
        if expect_threshold is not None and \
                r["threshold_ns"] != expect_threshold:
            raise Fail(f"threshold_ns {r['threshold_ns']}, expected "
                       f"{expect_threshold}")
        reports.append(r)
    if not reports:
        raise Fail(f"no JSON report on {where}")
    return reports


def reports_so_far(text, where="stdout"):
    """The reports of a blockwatch still running: whole lines only (a
    report is written a piece at a time: the one being written now is
    not a line yet), and none yet is no error."""
    text = text[:text.rfind("\n") + 1]
    return parse_reports(text, where) if text.strip() else []


def entries(reports, pid=None, tid=None):
    """(report index, process, thread) for the matching thread entries."""
    for i, r in enumerate(reports):
        for proc in r["processes"]:
            if pid is not None and proc["pid"] != pid:
                continue
            for t in proc["threads"]:
                if tid is None or t["tid"] == tid:
                    yield i, proc, t


def symbols(t):
    return [f.get("symbol") for f in t["stack"]]


def show_entry(i, proc, t):
    syms = " <- ".join(str(s) for s in symbols(t))
    return (f"  report {i + 1}: pid {proc['pid']} ({proc['comm']}) "
            f"tid {t['tid']} ({t['comm']}) reason {t['reason']} "
            f"count {t['count']} blocked {t['blocked_ns'] / MS:.1f} ms "
            f"max {t['max_ns'] / MS:.1f} ms stack: {syms or '(empty)'}")


def show_entries(es):
    es = list(es)
    return [show_entry(*e) for e in es] or ["  (no entries)"]


def within(value, expected, tol=TOLERANCE):
    return abs(value - expected) <= expected * tol


def report_epoch(r):
    return datetime.datetime.strptime(
        r["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def ongoing_by_tid(r, pid):
    """{tid: entry} of the ongoing entries of pid in report r."""
    out = {}
    for _, _, t in entries([r], pid=pid):
        if t.get("ongoing"):
            if t["tid"] in out:
                raise Fail(f"two ongoing entries for tid {t['tid']}",
                           show_entries(entries([r], pid=pid)))
            out[t["tid"]] = t
    return out


def show_waits(r, pid):
    lines = []
    for _, proc, t in entries([r], pid=pid):
        lines.append(
            f"  tid {t['tid']} ({t['comm']}) {t['reason']} ongoing="
            f"{t.get('ongoing')} age={t.get('age_ns')} blocked="
            f"{t['blocked_ns']} detail={json.dumps(t.get('detail'))} "
            f"owner={t.get('lock_owner')} ({t.get('lock_owner_comm')}) "
            f"owner_blocked={t.get('lock_owner_blocked_ns')} stack: "
            + " <- ".join(str(x) for x in symbols(t)))
    return [f"report at {r['time']}: deadlocks {r.get('deadlocks')}"] + (
        lines or ["  (no entries)"])


def check_snapshot(reports):
    """--now: one report, interval 0, every entry ongoing with
    blocked_ns == age_ns >= threshold."""
    if len(reports) != 1:
        raise Fail(f"{len(reports)} reports from --now, expected 1")
    r = reports[0]
    if r["interval_ns"] != 0:
        raise Fail(f"--now: interval_ns {r['interval_ns']}, expected 0")
    for i, proc, t in entries(reports):
        if not t.get("ongoing") or t["blocked_ns"] != t["age_ns"] \
                or t["age_ns"] < r["threshold_ns"]:
            raise Fail("--now entry not ongoing, or blocked_ns != age_ns, "
                       "or age below the threshold",
                       [show_entry(i, proc, t),
                        f"  ongoing={t.get('ongoing')} age_ns="
                        f"{t.get('age_ns')}"])
    return r


def now_report(ctx, *args, timeout=3):
    """Runs blockwatch --now -f json ARGS: exit 0 within timeout s of its
    start, one report."""
    bw = ctx.blockwatch("--now", "-f", "json", *args)
    ctx.finish(bw, timeout=timeout)
    took = time.monotonic() - bw.started
    if took > timeout:
        raise Fail(f"--now took {took:.2f} s, more than {timeout} s")
    return check_snapshot(parse_reports(bw.stdout_text()))


def now_text(ctx, *args, timeout=3):
    bw = ctx.blockwatch("--now", *args)
    ctx.finish(bw, timeout=timeout)
    out = bw.stdout_text()
    return out, ["text output:"] + ["  " + x for x in out.splitlines()[:60]]


def wait_reports(bw, n, timeout):
    """Waits until bw has printed n lines on stdout."""
    deadline = time.monotonic() + timeout
    while len([x for x in bw.out if x.strip()]) < n:
        if time.monotonic() > deadline or not bw.running():
            raise Fail(f"fewer than {n} reports within {timeout} s "
                       f"({describe_rc(bw.wait(0))})", bw.tail())
        time.sleep(0.05)
    return "\n".join(bw.out[:n])
