"""The real consumers of the whole-run formats, driven from the tests:
speedscope (npm, its own page in headless Chromium, loading a file as
its command line tool does) and `go tool pprof` (Debian's golang-go).
Where the test output goes (screenshots): E2E_OUT, else e2e-out/ next
to the blockwatch binary."""

import base64
import html.parser
import json
import os
import re
import shutil
import subprocess
import tempfile

from .errors import Fail

CHROMIUM_TIMEOUT_S = 60


def out_dir(cfg):
    d = os.environ.get("E2E_OUT") or os.path.join(
        os.path.dirname(cfg.blockwatch), "e2e-out")
    os.makedirs(d, exist_ok=True)
    return d


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise Fail("chromium not installed (tools/install-deps.sh installs it)")
    return path


def headless(ctx, url, *, dump_dom=False, screenshot=None, size=(1200, 900),
             budget_ms=8000):
    """Chromium on url: the DOM after budget_ms of virtual time (its
    scripts run, its timers fire), or a screenshot written to the path."""
    profile = tempfile.mkdtemp(prefix="bw-chromium-")
    ctx.tmpdirs.append(profile)
    argv = [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--no-first-run", "--allow-file-access-from-files",
            f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}",
            f"--virtual-time-budget={budget_ms}"]
    argv += ["--dump-dom"] if dump_dom else [f"--screenshot={screenshot}"]
    try:
        p = subprocess.run(argv + [url], capture_output=True,
                           timeout=CHROMIUM_TIMEOUT_S, cwd=profile)
    except subprocess.TimeoutExpired:
        raise Fail(f"chromium on {url}: still running after "
                   f"{CHROMIUM_TIMEOUT_S} s")
    if p.returncode != 0:
        raise Fail(f"chromium on {url}: exit {p.returncode}",
                   p.stderr.decode("utf-8", "replace").splitlines()[-10:])
    return p.stdout.decode("utf-8", "replace")


def speedscope_index(cfg):
    path = os.path.join(os.path.dirname(cfg.blockwatch), "node",
                        "node_modules", "speedscope", "dist", "release",
                        "index.html")
    if not os.path.exists(path):
        raise Fail(f"speedscope not installed at {path} (make e2e installs "
                   "it from npm)")
    return path


class _Rows(html.parser.HTMLParser):
    """The text of each <td> of each <tr>."""

    def __init__(self):
        super().__init__()
        self.rows, self._row, self._cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


_UNITS = {"ns": 1, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9,
          "min": 60e9, "h": 3600e9}


def _number(cell):
    """'1,307,072 (26%)' -> 1307072; a time as speedscope prints one
    ('1.80s (36%)', '300.00ms') -> nanoseconds."""
    m = re.match(r"^([\d,.]+)(ns|µs|us|ms|s|min|h)?\b", cell) or \
        re.match(r"^([\d,.]+)(µs)", cell)
    if not m:
        return None
    return float(m.group(1).replace(",", "")) * _UNITS.get(m.group(2), 1)


def speedscope(ctx, path):
    """Load path into speedscope as `speedscope FILE` does (a script that
    hands it the file, base64) and read its sandwich view: {symbol:
    (total, self)} in the file's own units, as speedscope computed them."""
    with open(path, "rb") as f:
        data = f.read()
    tmp = tempfile.mkdtemp(prefix="bw-speedscope-")
    ctx.tmpdirs.append(tmp)
    loader = os.path.join(tmp, "load.js")
    with open(loader, "w") as f:
        f.write("speedscope.loadFileFromBase64(%s, %s)" % (
            json.dumps(os.path.basename(path)),
            json.dumps(base64.b64encode(data).decode())))
    url = (f"file://{speedscope_index(ctx.cfg)}#localProfilePath={loader}"
           "&view=sandwich")
    # the table comes once the page has read the file and laid itself
    # out: on a loaded machine that can take longer than one budget
    for budget in (8000, 20000, 40000):
        dom = headless(ctx, url, dump_dom=True, size=(1200, 4000),
                       budget_ms=budget)
        p = _Rows()
        p.feed(dom)
        table = {}
        for row in p.rows:
            if len(row) == 3 and _number(row[0]) is not None:
                table[row[2]] = (_number(row[0]), _number(row[1]))
        if table:
            break
    if not table:
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))
        raise Fail(f"speedscope shows no table for {path}", [text[:400]])
    return table


def go_tool_pprof(ctx, *args):
    """`go tool pprof ARGS`: stdout; its caches in a temporary HOME."""
    go = shutil.which("go")
    if not go:
        raise Fail("go not installed (golang-go)")
    home = tempfile.mkdtemp(prefix="bw-pprof-")
    ctx.tmpdirs.append(home)
    env = dict(os.environ, HOME=home, PPROF_TMPDIR=home, GOTOOLCHAIN="local")
    argv = [go, "tool", "pprof", *map(str, args)]
    try:
        p = subprocess.run(argv, capture_output=True, timeout=60, env=env)
    except subprocess.TimeoutExpired:
        raise Fail(f"{' '.join(argv)}: still running after 60 s")
    if p.returncode != 0:
        raise Fail(f"{' '.join(argv)}: exit {p.returncode}",
                   p.stderr.decode("utf-8", "replace").splitlines()[-10:])
    return p.stdout.decode("utf-8", "replace")


class Raw:
    """`go tool pprof -raw`, parsed: sample types, samples (values,
    location ids, labels), locations (id -> [(func, file, line)],
    innermost first) and mappings (lines)."""

    def __init__(self, text):
        self.text = text
        self.types = []
        self.samples = []     # [(values, [loc ids], {label: value})]
        self.locations = {}   # id -> (addr, [(func, file, line)])
        self.mappings = []
        section = None
        loc = None
        for line in text.splitlines():
            if line in ("Samples:", "Locations", "Mappings"):
                section = line
                continue
            if section == "Samples:":
                if not self.types:
                    self.types = [t.replace("[dflt]", "")
                                  for t in line.split()]
                    continue
                m = re.match(r"^\s+([-\d ]+): ([\d ]*)$", line)
                if m:
                    vals = [int(v) for v in m.group(1).split()]
                    self.samples.append((vals, [int(x) for x in
                                                m.group(2).split()], {}))
                    continue
                for k, v in re.findall(r"(\w+):\[([^\]]*)\]", line):
                    if self.samples:
                        self.samples[-1][2][k] = v
            elif section == "Locations":
                m = re.match(r"^\s+(\d+): (0x[0-9a-f]+) (?:M=\d+ )?(.*)$",
                             line)
                if m:
                    loc = (int(m.group(2), 16), [])
                    self.locations[int(m.group(1))] = loc
                    rest = m.group(3)
                else:
                    rest = line.strip()
                m = re.match(r"^(.*) (\S*):(\d+) s=\d+$", rest)
                if m and loc is not None:
                    loc[1].append((m.group(1), m.group(2), int(m.group(3))))
            elif section == "Mappings" and line.strip():
                self.mappings.append(line.strip())

    def funcs(self, sample):
        """The functions of a sample's stack, leaf first, inline ones too."""
        return [fn for i in sample[1] for fn, _, _ in self.locations[i][1]]
