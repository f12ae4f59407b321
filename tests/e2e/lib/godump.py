"""Ground truth for the goroutine view: the Go runtime's own account of
its goroutines, runtime/pprof's goroutine profile at debug=2 (what the
fixture tests/fixtures/go/goroutines.go writes on "dump PATH")."""

import re

_HEAD = re.compile(r"^goroutine (\d+) \[([^\]]*)\]:$")
_FILE = re.compile(r"^\t(.*):(\d+)(?: \+0x[0-9a-f]+)?$")
_CREATED = re.compile(r"^created by (\S+)(?: in goroutine \d+)?$")


class Goroutine:
    def __init__(self, goid, status):
        self.goid = goid
        # "chan send", "chan send, 3 minutes", "select, locked to thread"
        self.status = status
        self.reason = status.split(",")[0].strip()
        self.frames = []          # [(func, file, line, inlined)], leaf first
        self.created_by = None    # (func, file, line)

    def site(self):
        """The first frame, which the runtime prints (it hides its own)."""
        return self.frames[0] if self.frames else None


def _func_name(line):
    """'main.f(0x1, 0x2)' -> ('main.f', False); 'main.g(...)' -> inlined."""
    inlined = line.endswith("(...)")
    name = line[:line.rindex("(")] if "(" in line else line
    return name, inlined


def parse(text):
    """{goid: Goroutine} from a debug=2 dump."""
    out = {}
    cur = None
    pending = None  # a function line waiting for its file line
    for line in text.splitlines():
        m = _HEAD.match(line)
        if m:
            cur = Goroutine(int(m.group(1)), m.group(2))
            out[cur.goid] = cur
            pending = None
            continue
        if cur is None or not line.strip():
            continue
        m = _FILE.match(line)
        if m and pending is not None:
            func, inlined, created = pending
            where = (func, m.group(1), int(m.group(2)))
            if created:
                cur.created_by = where
            else:
                cur.frames.append(where + (inlined,))
            pending = None
            continue
        m = _CREATED.match(line)
        if m:
            pending = (m.group(1), False, True)
            continue
        if not line.startswith("\t"):
            name, inlined = _func_name(line)
            pending = (name, inlined, False)
    return out


def by_reason(gs, skip=()):
    counts = {}
    for g in gs.values():
        if g.goid in skip:
            continue
        counts[g.reason] = counts.get(g.reason, 0) + 1
    return counts
