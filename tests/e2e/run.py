#!/usr/bin/python3
"""Privileged end-to-end tests: the real blockwatch against real workloads.

Usage: run.py [-v] [-l] [-k PATTERN]... [PATTERN...]   (as root)

Runs build/blockwatch (env BLOCKWATCH) against build/tests/blockers (env
BLOCKERS), whose worker threads block for a known time in a known
function, and build/tests/stuck (env STUCK; default: next to BLOCKERS),
whose threads stay blocked (deadlocks, lock chains, one thread per wait
kind), and checks what blockwatch reports and how it exits. What a
still-blocked thread waits on is checked against what the harness reads
in /proc (its syscall and arguments, fds, epoll and poll sets, /proc/net).
The stacks-* tests check stacks frame by frame (names, inline frames,
source lines, modules, truncation, kernel frames, and against eu-stack)
on stacks_fp and stacks_nofp (tests/workloads/stacks.c with and without
frame pointers), cxx_blocker and jit, all next to BLOCKERS.

The tests, by area: test_blocks.py (blocks that end: block-*, threshold,
split-intervals, system-wide, top, output-file, text-format, multi-pid,
sigint, sigterm, duration, ringbuf-overflow,
ringbuf-records-sized), test_still_blocked.py
(still-blocked-*, deadlock-*, chain*, epoll-socket-detail,
wait-kinds-now, now-*), test_errors.py (help, version, error-*,
fds-closed-*, pid-leader-exited, now-error-no-such-pid), test_stacks.py
(stacks-*), test_outputs.py (outputs-*: several sinks in one run, a
write error, names that are a terminal's commands), test_manual.py
(schema-rejects, progress-*: the JSON schema catches a broken report;
the status line on a pty, never in a pipe), test_daemon.py
(metrics-*: /metrics scraped by Prometheus, promtool, hostile clients,
its errors), test_go.py (go-*:
the goroutine view against the runtime's own dump, in four builds;
channels, trends, churn, errors), test_top.py (top-*: the live view in
tmux: rows, sorting, filtering, expanding, pausing, resizing, the
terminal restored after q and Ctrl-C, hostile names, no terminal). test_profiles.py (profiles-*: folded
and pprof in speedscope under headless Chromium, pprof in go tool pprof,
the goroutine profile against the runtime's with -diff_base, SIGUSR1,
the SVG flame graph in Chromium). The
harness they use
is the package lib/ (processes, reports, ground truth from /proc, the
runner). A full run takes them in ORDER below.

-k PATTERN (repeatable) and bare PATTERNs select the tests whose name
contains one of them; a PATTERN with * ? or [ is a shell-style glob
matched against the whole name (-k 'stacks-*-mutex'). -l lists the
selected tests in run order; -v prints blockwatch's stderr for every
test, not only failing ones, and each test's run time.

Output: one line per test, "ok - NAME", "not ok - NAME: reason" or
"skip - NAME: reason" (diagnostics follow as "#" lines), then
"e2e: N passed, N failed[, N skipped]". A test that fails once fails the
run (no retry). The whole run has a budget of 300 s; tests past it
fail. Exit 1 if a test failed or if every
test was skipped.

Stdlib only; every subprocess has a timeout and is killed on failure.
"""

import argparse
import fnmatch
import sys

import test_blocks
import test_daemon
import test_errors
import test_go
import test_manual
import test_memory
import test_outputs
import test_profiles
import test_stacks
import test_still_blocked
import test_top
from lib.config import Config
from lib.runner import Run, run_tests

AREAS = [test_blocks, test_still_blocked, test_errors, test_stacks, test_outputs, test_go,
         test_manual, test_top, test_daemon, test_profiles, test_memory]

# The order of a full run: every test of AREAS once. Each file lists its
# own tests in this order too (checked in all_tests()).
ORDER = [
    # test_blocks
    "block-mutex",
    "block-condvar",
    "block-epoll",
    "block-pipe",
    "block-sleep",
    "block-mutex-raw-tp",
    "block-sleep-no-rseq-syscall-exit",
    "block-sleep-no-rseq-counted",
    # test_still_blocked
    "still-blocked-preexisting",
    # test_blocks
    "multi-pid",
    "threshold",
    "every-block",
    "wakeups-batched",
    "wakeups-batched-static",
    "accounting-system-wide",
    "split-intervals",
    "system-wide",
    "system-wide-pidns",
    "top",
    "output-file",
    "text-format",
    # test_outputs
    "outputs-several",
    "outputs-write-error",
    "outputs-hostile-names",
    # test_manual
    "schema-rejects",
    "progress-tty",
    "progress-pipe",
    "progress-narrow",
    "progress-off",
    # test_errors
    "help",
    "version",
    "error-no-such-pid",
    "error-duration-bare",
    "error-duration-suffix",
    "error-duration-hex",
    "error-duration-exponent",
    "error-interval-out-of-range",
    "error-format",
    "error-format-same-file",
    "error-format-same-file-link",
    "error-format-unwritable",
    "error-format-binary-terminal",
    "error-unknown-option",
    "error-not-root",
    "error-btf-missing",
    "error-btf-not-btf",
    "error-btf-fifo",
    "error-btf-dir",
    "error-btf-empty",
    "error-btf-elf-without-btf",
    "error-output-kept",
    "error-output-is-btf",
    "error-output-is-btf-symlink",
    "error-output-is-btf-hardlink",
    "fds-closed-stdout",
    "fds-closed-stderr",
    "error-stdout-closed",
    "error-pid-self",
    "error-pid-kthread",
    "error-pid-zombie",
    "pid-leader-exited",
    "error-now-duration",
    "error-now-interval",
    # test_blocks
    "sigint",
    "sigterm",
    "duration",
    "ringbuf-overflow",
    "ringbuf-records-sized",
    # test_still_blocked
    "deadlock-abba",
    "deadlock-now",
    "chain",
    "chain-pi-now",
    "epoll-socket-detail",
    "wait-kinds-now",
    "now-no-target",
    "now-many-threads",
    # test_errors
    "now-error-no-such-pid",
    # test_stacks
    "stacks-fp-mutex",
    "stacks-fp-condvar",
    "stacks-fp-epoll",
    "stacks-fp-pipe",
    "stacks-fp-sleep",
    "stacks-nofp-mutex",
    "stacks-nofp-condvar",
    "stacks-nofp-epoll",
    "stacks-nofp-pipe",
    "stacks-nofp-sleep",
    "stacks-cxx",
    "stacks-deleted-binary",
    "stacks-container",
    "stacks-vs-eu-stack",
    "stacks-vs-eu-stack-cxx",
    "stacks-no-debuginfo",
    "stacks-no-lines",
    "stacks-debug-cache",
    "stacks-kernel",
    "stacks-truncated",
    "stacks-jit",
    "stacks-signal-handler",
    "stacks-jit-fifo",
    "stacks-cache-warm",
    "stacks-cache-exec",
    "stacks-cache-dlopen",
    "stacks-cache-dlopen-late",
    # test_go
    "go-now-default",
    "go-now-stripped",
    "go-now-pie",
    "go-now-static",
    "go-text",
    "go-trend",
    "go-churn",
    "go-not-go",
    "go-unreadable",
    # test_top
    "top-rows",
    "top-sort-pause",
    "top-filter-expand",
    "top-resize",
    "top-ctrl-c",
    "top-fatal-signal",
    "top-go",
    "top-hostile-names",
    "top-no-terminal",
    # test_daemon
    "metrics-prometheus",
    "metrics-promtool",
    "metrics-hostile-clients",
    "metrics-port-taken",
    "metrics-bad-address",
    "metrics-sigkill",
    "events-once",
    "events-deadlock-json",
    "events-journal-lost",
    "output-removed",
    "reload-sighup",
    "reload-pids",
    "alert-rules",
    "unit-file",
    "unit-systemd",
    # test_profiles
    "profiles-folded-speedscope",
    "profiles-pprof-go-tool",
    "profiles-pprof-go-diff",
    "profiles-sigusr1",
    "profiles-svg-chromium",
    # test_memory
    "state-dropped-on-exit",
    "libraries-when-needed",
]


def all_tests():
    """[(name, fn)] of the tests of AREAS, in ORDER; exits if the two
    disagree (a test in no file or in none of ORDER, one registered
    twice, a file listing its tests in another order)."""
    rank = {name: i for i, name in enumerate(ORDER)}
    found = {}
    problems = []
    for area in AREAS:
        names = [name for name, _ in area.TESTS]
        for name, fn in area.TESTS:
            if name in found:
                problems.append(f"{name} registered twice")
            elif name not in rank:
                problems.append(f"{name} ({area.__name__}) not in ORDER")
            found[name] = fn
        ranks = [rank[n] for n in names if n in rank]
        if ranks != sorted(ranks):
            problems.append(f"{area.__name__} lists its tests in another "
                            "order than ORDER")
    problems += [f"{name} in ORDER but in no test file"
                 for name in ORDER if name not in found]
    if problems:
        sys.exit("e2e: harness error: " + "; ".join(problems))
    return [(name, found[name]) for name in ORDER]


def matches(name, pattern):
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(name, pattern)
    return pattern in name


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="run.py",
        usage="%(prog)s [-v] [-l] [-k PATTERN]... [PATTERN...]",
        description="blockwatch's privileged end-to-end tests (as root).")
    ap.add_argument("-v", action="store_true",
                    help="blockwatch's stderr for every test, run times")
    ap.add_argument("-l", action="store_true",
                    help="list the selected tests, in run order")
    ap.add_argument("-k", action="append", default=None, metavar="PATTERN",
                    help="select tests whose name contains PATTERN, or "
                    "matches it if it has * ? or [ (repeatable)")
    ap.add_argument("patterns", nargs="*", metavar="PATTERN",
                    help="the same as -k PATTERN")
    return ap.parse_intermixed_args(argv)


def main(argv):
    opts = parse_args(argv)
    patterns = (opts.k or []) + opts.patterns
    tests = [(n, f) for n, f in all_tests()
             if not patterns or any(matches(n, p) for p in patterns)]
    if opts.l:
        for name, _ in tests:
            print(name)
        return 0
    if not tests:
        print(f"e2e: no test matches {patterns}")
        return 1
    return run_tests(Run(Config(), verbose=opts.v), tests)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
