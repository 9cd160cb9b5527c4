"""Loading the broken and correct implementations, and reading a report, for the checks' own tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatlib.checks import CheckReport, ScenarioResult, Status
from chatlib.checks.loading import find_names, load_module
from chatlib.checks.runner import find_step, prepare
from chatlib.checks.scenarios import run_scenario

BROKEN = Path(__file__).parent / "broken"
CORRECT = Path(__file__).parent / "correct"


def broken(file: str, step: str) -> dict[str, Any]:
    """The names a step looks for, from one of the broken files."""
    return find_names(load_module(BROKEN / file), find_step(step).names)


def correct(file: str, step: str) -> dict[str, Any]:
    """The names a step looks for, from one of the correct files written differently from the course's."""
    return find_names(load_module(CORRECT / file), find_step(step).names)


def statuses(report: CheckReport) -> dict[str, Status]:
    """Each scenario's status, by name."""
    return {result.name: result.status for result in report.results}


def failure_text(report: CheckReport, scenario: str) -> str:
    """The report's text for one scenario, which must have failed."""
    (result,) = [result for result in report.results if result.name == scenario]
    assert result.status is Status.FAIL, report.text()
    return result.text()


def failed_names(report: CheckReport) -> list[str]:
    """The names of the scenarios that failed, in order."""
    return [result.name for result in report.failures]


async def check_one(step: str, scenario: str, **given: Any) -> ScenarioResult:
    """Run a single scenario of a step (a test about one message need not wait through the others)."""
    chosen = find_step(step)
    adapted, skeletons, problems = prepare(chosen, given)
    return await run_scenario(chosen.scenario(scenario), adapted, skeletons, problems)
