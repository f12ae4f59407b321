"""The end-to-end harness, stdlib only (the tests are tests/e2e/test_*.py,
the entry point tests/e2e/run.py):

  config   where the binaries are (env BLOCKWATCH, BLOCKERS, STUCK),
           timeouts, tolerance
  errors   Fail, Skip
  procs    Proc, describe_rc, Ctx (the per-test context)
  reports  report schema check, parsing, entries, --now helpers
  truth    ground truth from /proc, and checks against it
  runner   Run, run_one, run_tests (budget, retry, output, summary)

No module keeps mutable state: what a run shares is on its Run
(ctx.run), what a test has is on its Ctx.
"""



