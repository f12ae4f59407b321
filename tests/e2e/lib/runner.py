"""The test runner: Run (what the tests of one run share), run_one (one
test in a fresh Ctx, deferred failures, harness errors), and run_tests
(the main loop: preconditions, run time budget, the output lines and
the summary). A test that fails once fails the run: there is no retry."""

import os
import sys
import time

from .config import RUN_BUDGET_S
from .errors import Fail, Skip
from .procs import Ctx


class Run:
    """What the tests of one run share, reached from a test as ctx.run:
    the configuration (a lib.config.Config, also ctx.cfg), whether -v was
    given, and caches of what does not change during a run. Nothing in it
    carries one test's state into the next (see Ctx.deferred)."""

    def __init__(self, cfg, verbose=False):
        self.cfg = cfg
        self.verbose = verbose
        # test_stacks.stack_marks(): {(mode, "inline"|"outer"): line} of
        # stacks.c, read once
        self.stack_marks = {}


def run_one(run, fn):
    """Run one test: ("ok" | "fail" | "skip", [reason, details...])."""
    ctx = Ctx(run)
    try:
        fn(ctx)
        if ctx.deferred:
            if len(ctx.deferred) > 1:
                ctx.deferred[0].details.append(
                    f"... and {len(ctx.deferred) - 1} more such failures")
            raise ctx.deferred[0]
    except Fail as e:
        return "fail", [e.reason] + list(e.details)
    except Skip as e:
        return "skip", [str(e)]
    except Exception as e:  # a harness bug must not hide the others
        return "fail", [f"harness error: {type(e).__name__}: {e}"]
    finally:
        ctx.cleanup()
    return "ok", []


def run_tests(run, tests):
    """Runs tests, [(name, fn)] in order, and prints a line per test and
    the summary; returns the exit code: 1 if a test failed or none
    passed."""
    passed = failed = skipped = 0
    pre = None
    if os.geteuid() != 0:
        pre = ("skip", "needs root")
    else:
        missing = [b for b in (run.cfg.blockwatch, run.cfg.blockers,
                               run.cfg.stuck)
                   if not os.access(b, os.X_OK)]
        if missing:
            pre = ("not ok", f"not built: {', '.join(missing)}")

    start = time.monotonic()
    for name, fn in tests:
        if pre:
            print(f"{pre[0]} - {name}: {pre[1]}")
            if pre[0] == "skip":
                skipped += 1
            else:
                failed += 1
            continue
        if time.monotonic() - start > RUN_BUDGET_S:
            print(f"not ok - {name}: run time budget of {RUN_BUDGET_S} s "
                  "used up")
            failed += 1
            continue
        t0 = time.monotonic()
        status, lines = run_one(run, fn)
        if status == "ok":
            print(f"ok - {name}" + (f" ({lines[0]})" if lines else ""))
            passed += 1
        elif status == "skip":
            print(f"skip - {name}: {lines[0]}")
            skipped += 1
        else:
            print(f"not ok - {name}: {lines[0]}")
            for line in lines[1:]:
                print(f"#   {line}")
            failed += 1
        if run.verbose:
            print(f"#   {name}: {time.monotonic() - t0:.1f} s")
        sys.stdout.flush()

    summary = f"e2e: {passed} passed, {failed} failed"
    if skipped:
        summary += f", {skipped} skipped"
    print(summary)
    return 1 if failed or not passed else 0
