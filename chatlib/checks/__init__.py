"""Checks a student runs on their own code: each course step's scenarios, on any implementation.

In a notebook: `await check("ii_4", handler=handle_client)` prints, per scenario, PASS, FAIL (with
what was sent, what was expected byte for byte and what arrived) or "not implemented yet".
From pytest: `pytest tests/student --stage ii_4 --impl my_server.py`. From a terminal:
`python -m chatlib.checks ii_4 my_server.py [--json]`. The steps are listed in `STEPS`:
sleep_sync, sleep_async, web_sync, web_async, web_sync_multiple, web_async_multiple,
ii_2 ... ii_6 and protocol.

Whatever the student's code does, a check ends within its time limit and says why: each
scenario runs on an event loop and in a thread of its own, watched from outside. A loop
blocked for 3 s (time.sleep in a coroutine, a loop that never awaits) fails the scenario
naming the student's file and line; input() and sys.stdin raise at once (there is no
keyboard); sys.exit() fails the scenario like any exception. The caller (a notebook kernel,
pytest) is never blocked.

Programmatic API, for a grading tool:

- `await check(step, *, strict=None, show=print, **implementation) -> CheckReport`: the
  keywords are the step's (`server=`, `handler=`, `client=`, `count=`, `encode=`...; see
  `STEPS[step].names`). `show=None` prints nothing; `strict=True` raises CheckFailed (an
  AssertionError) when a scenario failed.
- `run_check(step, **implementation) -> CheckReport`: the same from code that is not async.
- `check_file(step, path) -> CheckReport`: import a student's file (in a thread, with a 10 s
  limit, no keyboard) and check the names it defines; a file that cannot be imported fails
  every scenario with the reason.
- `CheckReport`: `.passed`, `.results` (one `ScenarioResult` per scenario: `.name`, `.status`
  (a `Status`: PASS, FAIL, NOT_IMPLEMENTED, NOT_GIVEN, NOT_RUN), `.details` (the report's
  lines), `.elapsed` (s), `.cause` (for a failure: "mismatch", "exception", "timeout",
  "blocked the event loop", "keyboard", "exit", "not a function", "import")), `.failures`,
  `.summary()`, `.text()`, and `.to_dict()` (JSON-ready).

A scenario after one where the same code blocked the event loop is NOT_RUN (it would only
block again). Run each student in a process of its own (`python -m chatlib.checks ... --json`)
if a thread stuck in a C call must not outlive the check.
"""

from chatlib.checks.report import CheckFailed, CheckReport, ScenarioResult, Status
from chatlib.checks.runner import STEPS, check, check_file, run_check

__all__ = [
    "STEPS",
    "CheckFailed",
    "CheckReport",
    "ScenarioResult",
    "Status",
    "check",
    "check_file",
    "run_check",
]
