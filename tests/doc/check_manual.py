#!/usr/bin/python3
"""The manual against the program: blockwatch(8) (doc/blockwatch.8) and
`blockwatch --help` list the same options (and subcommands), the man page documents every
output format the binary takes and every exit code of user/base/log.h
(which --help lists too); the page renders with groff and man without a
warning and fits 80 columns; the JSON schema is a valid schema of the
version json.c writes; `make install` puts the binary, the page and the
schema where the page says. Each extraction is tried on a broken copy
first (--self-test, always run), so a parser that finds nothing cannot
pass.

Usage: check_manual.py BLOCKWATCH   (from the repository; no root needed)
Output: "ok - NAME" or "not ok - NAME: why" per check, then a summary;
exit 1 if any failed."""

import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
MAN = os.path.join(ROOT, "doc", "blockwatch.8")
SCHEMA = os.path.join(ROOT, "doc", "blockwatch-report.schema.json")
LOG_H = os.path.join(ROOT, "user", "base", "log.h")
JSON_C = os.path.join(ROOT, "user", "report", "json.c")

OPT = re.compile(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*|-[A-Za-z0-9])(?![\w-])")


class Bad(Exception):
    pass


def help_options(text):
    """Options of --help: the lines that start (2 to 8 spaces in) with
    "-x, --long", "-x" or "--long"."""
    out = set()
    for line in text.splitlines():
        m = re.match(r"^ {2,8}(?:(-[A-Za-z0-9]), )?(-[A-Za-z0-9]|--[a-z0-9][a-z0-9-]*)\b",
                     line)
        if m:
            out.update(x for x in m.groups() if x)
    return out


def help_subcommands(text):
    """Subcommands --help shows a usage of: "blockwatch WORD ..." lines
    (WORD not an option or a placeholder in capitals)."""
    return set(re.findall(r"(?m)^(?:Usage: |\s+)blockwatch ([a-z][a-z0-9-]*)\b", text))


def man_subcommands(src):
    """The same in the SYNOPSIS: ".SY blockwatch" then ".B WORD"."""
    syn = man_sections(src).get("SYNOPSIS") or []
    return {m.group(1).replace("\\-", "-") for i, x in enumerate(syn[:-1])
            if x.strip() == ".SY blockwatch"
            for m in [re.match(r"^\.B\s+([a-z][a-z0-9\\-]*)\s*$", syn[i + 1])] if m}


def man_sections(src):
    """{section name: [lines]} of a roff man page."""
    out, name = {}, None
    for line in src.splitlines():
        m = re.match(r'^\.SH\s+"?([^"]*)"?\s*$', line)
        if m:
            name = m.group(1).strip()
            out[name] = []
        elif name:
            out[name].append(line)
    return out


def tags(lines):
    """The tag lines of .TP items, roff escapes for '-' undone."""
    return [lines[i + 1].replace("\\-", "-") for i, x in enumerate(lines[:-1])
            if x.startswith(".TP")]


def man_options(src):
    sec = man_sections(src).get("OPTIONS")
    if sec is None:
        raise Bad("no OPTIONS section")
    out = set()
    for tag in tags(sec):
        out.update(OPT.findall(re.sub(r"\\f[BIRP]", "", tag)))
    return out


def man_tag_words(src, section):
    sec = man_sections(src).get(section)
    if sec is None:
        raise Bad(f"no {section} section")
    return {re.sub(r'^\.B\s+|"', "", t).strip() for t in tags(sec)}


def help_exit_codes(text):
    i = text.find("Exit status:")
    if i < 0:
        raise Bad("--help has no 'Exit status:'")
    para = " ".join(text[i:].split("\n\n")[0].split())
    return set(re.findall(r"(?:: |, )(\d+) ", para))


def enum_exit_codes(src):
    return set(re.findall(r"BW_EXIT_\w+ = (\d+)", src))


def binary_formats(blockwatch):
    p = subprocess.run([blockwatch, "-f", "no-such-format"],
                       capture_output=True, text=True, timeout=10)
    m = re.search(r"one of ([^;)]*)", p.stderr)
    if p.returncode != 2 or not m:
        raise Bad(f"-f no-such-format: exit {p.returncode}, {p.stderr!r}")
    return {x.strip() for x in m.group(1).split(",")}


def same(what, a_name, a, b_name, b, at_least=1):
    if len(a) < at_least or len(b) < at_least:
        raise Bad(f"{what}: {len(a)} in {a_name}, {len(b)} in {b_name}, "
                  f"expected at least {at_least} each (extraction broken?)")
    problems = []
    if a - b:
        problems.append(f"in {a_name} but not in {b_name}: "
                        f"{' '.join(sorted(a - b))}")
    if b - a:
        problems.append(f"in {b_name} but not in {a_name}: "
                        f"{' '.join(sorted(b - a))}")
    if problems:
        raise Bad(f"{what}: " + "; ".join(problems))


def check_options(help_text, man_src):
    same("options", "--help", help_options(help_text), "blockwatch.8",
         man_options(man_src), at_least=15)


def check_subcommands(help_text, man_src):
    a, b = help_subcommands(help_text), man_subcommands(man_src)
    if a != b:
        same("subcommands", "--help", a, "blockwatch.8 SYNOPSIS", b)


def check_formats(formats, man_src):
    same("output formats", "the binary (-f)", formats,
         "blockwatch.8 OUTPUT FORMATS", man_tag_words(man_src, "OUTPUT FORMATS"))


def check_exit_codes(help_text, man_src, log_h):
    enum = enum_exit_codes(log_h)
    same("exit codes", "user/base/log.h", enum, "--help",
         help_exit_codes(help_text), at_least=6)
    same("exit codes", "user/base/log.h", enum, "blockwatch.8 EXIT STATUS",
         man_tag_words(man_src, "EXIT STATUS"), at_least=6)


def self_test(help_text, man_src, log_h, formats):
    """Each check, given a copy with one thing taken out, must fail."""
    broken = [
        ("an option missing from the man page", check_options,
         (help_text, re.sub(r"(?m)^\.TP\n\.BI \\-\\-top .*\n", "", man_src))),
        ("an option missing from --help", check_options,
         (re.sub(r"(?m)^  -K, --kernel-stacks.*\n", "", help_text), man_src)),
        ("a format missing from the man page", check_formats,
         (formats | {"flamegraph"}, man_src)),
        ("an exit code missing from the man page", check_exit_codes,
         (help_text, re.sub(r"(?m)^\.TP\n\.B 6\n", "", man_src), log_h)),
        ("a subcommand missing from the man page", check_subcommands,
         (help_text + "\nUsage: blockwatch replay [-p PID]\n", man_src)),
        ("an exit code missing from --help", check_exit_codes,
         (help_text.replace("6 --now", "--now"), man_src, log_h)),
    ]
    originals = {check_options: (help_text, man_src),
                 check_formats: (formats, man_src),
                 check_subcommands: (help_text, man_src),
                 check_exit_codes: (help_text, man_src, log_h)}
    for what, fn, args in broken:
        if args == originals[fn]:
            raise Bad(f"self-test: could not make {what} (the text changed?)")
        try:
            fn(*args)
        except Bad:
            continue
        raise Bad(f"self-test: {what} is not caught")


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          **kw)


def check_render(path):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    p = run(["groff", "-man", "-Tutf8", "-ww", "-z", path], env=env)
    if p.returncode or p.stderr.strip():
        raise Bad(f"groff -man -Tutf8 -ww: exit {p.returncode}: "
                  f"{p.stderr.strip()[:600]}")
    p = run(["man", "--warnings", "-l", path], env=dict(env, MAN_KEEP_FORMATTING=""))
    if p.returncode or p.stderr.strip():
        raise Bad(f"man --warnings -l: exit {p.returncode}: "
                  f"{p.stderr.strip()[:600]}")
    text = re.sub(r".\x08", "", p.stdout)
    for want in ("NAME", "SYNOPSIS", "OPTIONS", "OUTPUT FORMATS",
                 "JSON SCHEMA", "STATUS LINE", "EXIT STATUS", "EXAMPLES"):
        if not re.search(rf"(?m)^{want}$", text):
            raise Bad(f"man -l: no section {want} in the rendered page")
    wide = [x for x in text.splitlines() if len(x) > 80]
    if wide:
        raise Bad(f"man -l at 80 columns: {len(wide)} wider lines: "
                  f"{wide[0]!r}")
    return text


def check_schema(man_src):
    try:
        import jsonschema
    except ImportError as e:
        raise Bad(f"python3-jsonschema is needed (tools/install-deps.sh): {e}")
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.validators.validator_for(schema).check_schema(schema)
    with open(JSON_C, encoding="utf-8") as f:
        m = re.search(r"#define BW_JSON_SCHEMA_VERSION (\d+)", f.read())
    want = schema["properties"]["version"].get("const")
    if not m or int(m.group(1)) != want:
        raise Bad(f"json.c writes version {m and m.group(1)}, the schema "
                  f"says {want}")
    if f'"version": {want}' not in man_src.replace("\\(dq", '"').replace("\\ ", " "):
        raise Bad(f"blockwatch.8 does not say the version is {want}")
    if "blockwatch\\-report.schema.json" not in man_src:
        raise Bad("blockwatch.8 does not name the schema file")


def check_install():
    with tempfile.TemporaryDirectory(prefix="bw-install-") as d:
        p = run(["make", "-s", "--no-print-directory", "install",
                 f"DESTDIR={d}", "PREFIX=/usr"], cwd=ROOT)
        if p.returncode:
            raise Bad(f"make install: exit {p.returncode}: {p.stderr[-400:]}")
        for rel, src in (("usr/sbin/blockwatch", None),
                         ("usr/share/man/man8/blockwatch.8", MAN),
                         ("usr/share/blockwatch/blockwatch-report.schema.json",
                          SCHEMA)):
            path = os.path.join(d, rel)
            if not os.path.isfile(path):
                raise Bad(f"make install DESTDIR=... PREFIX=/usr: no {rel}")
            if src:
                with open(path, "rb") as a, open(src, "rb") as b:
                    if a.read() != b.read():
                        raise Bad(f"installed {rel} differs from the source")
        check_render(os.path.join(d, "usr/share/man/man8/blockwatch.8"))


def main(argv):
    if len(argv) != 1:
        sys.exit(__doc__.split("\n\n")[1])
    blockwatch = argv[0]
    p = run([blockwatch, "--help"])
    help_text = p.stdout
    with open(MAN, encoding="utf-8") as f:
        man_src = f.read()
    with open(LOG_H, encoding="utf-8") as f:
        log_h = f.read()
    failed = 0
    def check_help():
        if p.returncode != 0 or p.stderr:
            raise Bad(f"--help: exit {p.returncode}, stderr {p.stderr!r}")

    checks = [
        ("help-exit-0", check_help),
        ("self-test", lambda: self_test(help_text, man_src, log_h,
                                        binary_formats(blockwatch))),
        ("options-help-man", lambda: check_options(help_text, man_src)),
        ("subcommands", lambda: check_subcommands(help_text, man_src)),
        ("formats-man", lambda: check_formats(binary_formats(blockwatch),
                                              man_src)),
        ("exit-codes", lambda: check_exit_codes(help_text, man_src, log_h)),
        ("man-renders", lambda: check_render(MAN)),
        ("schema", lambda: check_schema(man_src)),
        ("install", check_install),
    ]
    for name, fn in checks:
        try:
            fn()
        except Bad as e:
            print(f"not ok - {name}: {e}")
            failed += 1
            continue
        print(f"ok - {name}")
    print(f"doc: {len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
