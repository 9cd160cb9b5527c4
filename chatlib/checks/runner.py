"""`check(step, ...)`: run one step's scenarios on an implementation and report, in a notebook or pytest.

`run_check` does the same from plain (not async) code, and `check_file` on a student's file.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatlib.checks.keyboard import no_keyboard
from chatlib.checks.loading import ImplementationFileError, find_names, global_names, is_skeleton, load_module
from chatlib.checks.part1 import download_steps, sleep_steps
from chatlib.checks.protocol import protocol_step
from chatlib.checks.report import CheckFailed, CheckReport, ScenarioResult, Status, strict_from_environment
from chatlib.checks.scenarios import Implementation, Step, function_name, run_scenario
from chatlib.checks.stages import STAGES, stage_step

STEPS: dict[str, Step] = {
    step.name: step
    for step in [*sleep_steps(), *download_steps(), *(stage_step(stage) for stage in STAGES), protocol_step()]
}
FROZE = "blocked the event loop"


def find_step(name: str) -> Step:
    """The step called `name`; ValueError listing the steps if there is none."""
    try:
        return STEPS[name]
    except KeyError:
        raise ValueError(f"no step {name!r}; the steps are: {', '.join(STEPS)}") from None


def prepare(step: Step, given: Implementation) -> tuple[Implementation, set[str], dict[str, str]]:
    """The implementation in the shape the scenarios use, which of its parts are still skeletons,
    and why some parts cannot be run at all (by keyword)."""
    unknown = set(given) - set(step.names)
    if unknown:
        raise TypeError(
            f"check({step.name!r}) takes {', '.join(f'{keyword}=' for keyword in step.names)}, "
            f"not {', '.join(sorted(unknown))}"
        )
    problems = {
        keyword: problem
        for keyword, value in given.items()
        if value is not None and (problem := unusable(keyword, value, step)) is not None
    }
    runnable = {
        keyword: value for keyword, value in given.items() if value is not None and keyword not in problems
    }
    adapted = step.adapt(runnable)
    for keyword, problem in list(problems.items()):
        alias = step.aliases.get(keyword)
        if alias is not None and adapted.get(alias) is None:
            problems[alias] = problem
    skeletons = {keyword for keyword, value in adapted.items() if value is not None and is_skeleton(value)}
    return adapted, skeletons, problems


def unusable(keyword: str, value: Any, step: Step) -> str | None:
    """Why `value`, given as `keyword`, cannot be run, or None if it can.

    In a notebook, a later cell may rebind a name (`for count in range(3)`), so that `count` is an
    int when the check runs, or so that the function checked calls an int: say so, plainly.
    """
    if not callable(value):
        return (
            f"`{keyword}` is now {describe_value(value)}, not your function: a later cell rebound the "
            f"name (a loop variable?); re-run the cell that defines it, then this check"
        )
    function = inspect.unwrap(value)
    if not inspect.isfunction(function):
        return None
    step_names = {name for names in step.names.values() for name in names}
    for name in sorted(global_names(function.__code__) & step_names):
        if name in function.__globals__ and not callable(function.__globals__[name]):
            return (
                f"{function_name(value, keyword)} calls `{name}`, which is now "
                f"{describe_value(function.__globals__[name])}: a later cell rebound the name; "
                f"re-run the cell that defines {name}, then this check"
            )
    return None


def describe_value(value: Any) -> str:
    """`an int (3)`, `a str ('abc')`: what a name holds, briefly."""
    kind = type(value).__name__
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    shown = repr(value)
    return f"{article} {kind} ({shown[:40]}{'...' if len(shown) > 40 else ''})"


async def check(
    step: str,
    *,
    strict: bool | None = None,
    show: Callable[[str], None] | None = print,
    **implementation: Any,
) -> CheckReport:
    """Run every scenario of `step` on `implementation` (e.g. `server=start_server`) and show the report.

    Never raises for a wrong implementation unless strict mode is on (`strict=True`, or the
    CHATLIB_CHECKS_STRICT=1 environment variable): then a failed scenario raises CheckFailed,
    an AssertionError carrying the report.
    """
    chosen = find_step(step)
    given, skeletons, problems = prepare(chosen, implementation)
    report = await run_step(chosen, given, skeletons, problems)
    if show is not None:
        show(report.text())
    if (strict_from_environment() if strict is None else strict) and not report.passed:
        raise CheckFailed(report)
    return report


async def run_step(
    step: Step, given: Implementation, skeletons: set[str], problems: dict[str, str]
) -> CheckReport:
    """Every scenario's result; after code blocked the event loop, the scenarios needing it are not run."""
    report = CheckReport(step.name, step.title)
    blocked: set[str] = set()
    with no_keyboard():
        for scenario in step.scenarios:
            earlier = [keyword for keyword in scenario.needs if keyword in blocked]
            if earlier:
                names = ", ".join(function_name(given[keyword], keyword) for keyword in earlier)
                reason = f"{names} blocked the event loop in an earlier scenario (above): fix that first"
                report.results.append(ScenarioResult(scenario.name, Status.NOT_RUN, (reason,)))
                continue
            result = await run_scenario(scenario, given, skeletons, problems)
            report.results.append(result)
            if result.cause == FROZE:
                blocked.update(scenario.needs)
    return report


def run_check(
    step: str, *, strict: bool = False, show: Callable[[str], None] | None = None, **implementation: Any
) -> CheckReport:
    """`check()` for code that is not a coroutine (a script, a grading tool): returns the CheckReport."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(check(step, strict=strict, show=show, **implementation))
    raise RuntimeError("run_check() cannot run inside an event loop: use `await check(...)` there")


def check_file(
    step: str, path: str | Path, *, strict: bool = False, show: Callable[[str], None] | None = None
) -> CheckReport:
    """Check the names a student's file defines against `step`; the file is imported in isolation.

    A file that cannot be imported fails every scenario with the reason (cause "import").
    """
    chosen = find_step(step)
    try:
        module = load_module(path)
    except ImplementationFileError as error:
        report = CheckReport(chosen.name, chosen.title)
        report.results = [
            ScenarioResult(scenario.name, Status.FAIL, (str(error),), cause="import")
            for scenario in chosen.scenarios
        ]
        if show is not None:
            show(report.text())
        if strict:
            raise CheckFailed(report)
        return report
    return run_check(step, strict=strict, show=show, **find_names(module, chosen.names))
