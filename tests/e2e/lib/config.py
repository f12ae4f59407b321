"""Configuration: where the binaries under test are (env BLOCKWATCH,
BLOCKERS, STUCK; the other workloads next to BLOCKERS), and the timeouts
and tolerance every test uses. The numbers are constants; the paths are
read from the environment into a Config once per run (lib.runner.Run),
which a test reaches as ctx.cfg."""

import os

# the repository: tests/e2e/lib/config.py is four levels below it
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))

RUN_BUDGET_S = 480          # the whole run must stay under 8 minutes (sanitized builds too)
START_TIMEOUT_S = 30        # blockwatch: until "blockwatch: tracing"
READY_TIMEOUT_S = 10        # workload: until "ready PID TID"
# A workload that prints "ready" once its threads sleep has them asleep
# for a few ms: blockwatch's default threshold is 100 ms, and --now can
# reach its scan within 100 ms of starting. The harness waits this long
# after such a "ready" line, so a thread it hands out is past the
# default threshold whatever the machine's load (the age is wall-clock).
SETTLE_S = 0.15
EXIT_TIMEOUT_S = 15         # any process: until it exits once told to
TOLERANCE = 0.10            # ground truth: see tests/workloads/blockers.c
MS = 1000 * 1000


def _binary(environ, env, default):
    path = environ.get(env)
    if path:
        return os.path.abspath(path)
    return os.path.join(ROOT, default)


class Config:
    """The paths of the binaries under test, from environ (os.environ if
    None); relative paths are taken from the current directory."""

    def __init__(self, environ=None):
        environ = os.environ if environ is None else environ
        self.blockwatch = _binary(environ, "BLOCKWATCH", "build/blockwatch")
        self.blockers = _binary(environ, "BLOCKERS", "build/tests/blockers")
        self.stuck = os.path.abspath(
            environ.get("STUCK")
            or os.path.join(os.path.dirname(self.blockers), "stuck"))
        # stack-quality workloads, next to BLOCKERS (tests/workloads/stacks.c,
        # cxx_blocker.cpp, jit.c)
        self.stacks = {v: os.path.join(os.path.dirname(self.blockers),
                                       f"stacks_{v}")
                       for v in ("fp", "nofp")}
        self.cxx_blocker = os.path.join(os.path.dirname(self.blockers),
                                        "cxx_blocker")
        self.jit = os.path.join(os.path.dirname(self.blockers), "jit")
        self.stacks_src = os.path.join(ROOT, "tests", "workloads", "stacks.c")
        # the Go fixture (tests/fixtures/go/goroutines.go) in its builds,
        # under tests/go/ next to BLOCKERS
        self.go_fixture = {v: os.path.join(os.path.dirname(self.blockers),
                                           "go", v, "goroutines")
                           for v in ("default", "stripped", "pie", "static")}
