"""Check one student's mycode/, step by step, in a process of its own (started by ``grading``).

    CHATLIB_MYCODE=COPY python -m chatlib.classroom.grade_one RESULTS STEP [STEP ...]

For each step it appends to RESULTS a line ``{"event": "start", "step": ...}``, then
``{"event": "imported", ...}`` once the step's files are imported, then the result with the
report's text, each line flushed at once: whatever this process does afterwards (hang, crash,
exit), the grader keeps what was written, knows which step stopped it and in which phase.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from chatlib.checks import Status
from chatlib.notebook.mycode import check_implementation, implementation_of


def record(results: Path, event: dict[str, Any]) -> None:
    """Append one event to the results file, at once."""
    with results.open("a", encoding="utf-8") as file:
        file.write(json.dumps(event) + "\n")


async def grade_step(step: str, results: Path) -> None:
    """Import the step's files, run its checks and record the outcome (the same report as the notebook)."""
    record(results, {"event": "start", "step": step})
    given, missing = implementation_of(step)
    record(results, {"event": "imported", "step": step})
    report = await check_implementation(step, given, missing)
    passed = report.count(Status.PASS)
    record(
        results,
        {
            "event": "result",
            "step": step,
            "passed": passed,
            "total": len(report.results),
            "report": report.text(),
        },
    )


def main(argv: list[str]) -> None:
    """Grade the steps named on the command line, in order, then exit at once: a thread the
    student's code left running must not keep this process alive."""
    results, steps = Path(argv[0]), argv[1:]
    for step in steps:
        asyncio.run(grade_step(step, results))
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
