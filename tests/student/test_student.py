"""A step's checks as pytest tests, one per scenario, on a student's file or on the course's code.

    pytest tests/student --stage ii_4 --impl path/to/my_server.py
    CHATLIB_STAGE=ii_4 CHATLIB_IMPL=path/to/my_server.py pytest tests/student

Without --impl the course's own implementations are checked (every step, or just --stage's).
A scenario not implemented yet, or needing a part the file does not define, is skipped.
"""

from __future__ import annotations

from typing import Any

import pytest

from chatlib.checks import STEPS, Status
from chatlib.checks.loading import ImplementationFileError, find_names, load_module
from chatlib.checks.runner import find_step, prepare
from chatlib.checks.scenarios import run_scenario
from tests.student.references import reference

_LOADED: dict[tuple[str, str | None], Any] = {}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per scenario of the chosen step (of every step without --stage)."""
    if "scenario_name" not in metafunc.fixturenames:
        return
    chosen = metafunc.config.getoption("--stage")
    steps = [find_step(chosen)] if chosen else list(STEPS.values())
    cases = [(step.name, scenario.name) for step in steps for scenario in step.scenarios]
    metafunc.parametrize(
        ("step_name", "scenario_name"), cases, ids=[f"{step}: {name}" for step, name in cases]
    )


def implementation(step_name: str, path: str | None) -> Any:
    """What to check: the names found in the student's file, or the course's reference (loaded once)."""
    key = (step_name, path)
    if key not in _LOADED:
        if path is None:
            _LOADED[key] = reference(step_name)
        else:
            try:
                module = load_module(path)
            except ImplementationFileError as error:
                _LOADED[key] = error
            else:
                _LOADED[key] = find_names(module, find_step(step_name).names)
    return _LOADED[key]


async def test_scenario(step_name: str, scenario_name: str, request: pytest.FixtureRequest) -> None:
    path = request.config.getoption("--impl")
    given = implementation(step_name, path)
    if isinstance(given, ImplementationFileError):
        pytest.fail(str(given), pytrace=False)
    step = find_step(step_name)
    if path is not None and not given:
        wanted = ", ".join(name for names in step.names.values() for name in names)
        pytest.fail(f"{path} defines none of the names {step_name} checks: {wanted}", pytrace=False)
    adapted, skeletons, problems = prepare(step, given)
    result = await run_scenario(step.scenario(scenario_name), adapted, skeletons, problems)
    if result.status is Status.FAIL:
        pytest.fail(result.text(), pytrace=False)
    if result.status is not Status.PASS:
        pytest.skip(f"{result.status.value}: {'; '.join(result.details)}")
