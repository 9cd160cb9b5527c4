"""Checks a student runs on their own code: each course step's scenarios, on any implementation.

In a notebook: `await check("ii_4", server=start_server)` prints, per scenario, PASS, FAIL (with
what was sent, what was expected byte for byte and what arrived) or "not implemented yet".
From pytest: `pytest tests/student --stage ii_4 --impl my_server.py`. The steps are listed in
`STEPS`: sleep_sync, sleep_async, web_sync, web_async, web_sync_multiple, web_async_multiple,
ii_2 ... ii_6 and protocol.
"""

from chatlib.checks.report import CheckFailed, CheckReport, ScenarioResult, Status
from chatlib.checks.runner import STEPS, check

__all__ = ["STEPS", "CheckFailed", "CheckReport", "ScenarioResult", "Status", "check"]
