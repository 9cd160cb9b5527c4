"""`check(step, ...)`: run one step's scenarios on an implementation and report, in a notebook or pytest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chatlib.checks.loading import is_skeleton
from chatlib.checks.part1 import download_steps, sleep_steps
from chatlib.checks.protocol import protocol_step
from chatlib.checks.report import CheckFailed, CheckReport, strict_from_environment
from chatlib.checks.scenarios import Implementation, Step, run_scenario
from chatlib.checks.stages import STAGES, stage_step

STEPS: dict[str, Step] = {
    step.name: step
    for step in [*sleep_steps(), *download_steps(), *(stage_step(stage) for stage in STAGES), protocol_step()]
}


def find_step(name: str) -> Step:
    """The step called `name`; ValueError listing the steps if there is none."""
    try:
        return STEPS[name]
    except KeyError:
        raise ValueError(f"no step {name!r}; the steps are: {', '.join(STEPS)}") from None


def prepare(step: Step, given: Implementation) -> tuple[Implementation, set[str]]:
    """The implementation in the shape the scenarios use, and which of its parts are still skeletons."""
    unknown = set(given) - set(step.names)
    if unknown:
        raise TypeError(
            f"check({step.name!r}) takes {', '.join(f'{keyword}=' for keyword in step.names)}, "
            f"not {', '.join(sorted(unknown))}"
        )
    adapted = step.adapt({keyword: value for keyword, value in given.items() if value is not None})
    skeletons = {keyword for keyword, value in adapted.items() if value is not None and is_skeleton(value)}
    return adapted, skeletons


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
    given, skeletons = prepare(chosen, implementation)
    report = CheckReport(chosen.name, chosen.title)
    for scenario in chosen.scenarios:
        report.results.append(await run_scenario(scenario, given, skeletons))
    if show is not None:
        show(report.text())
    if (strict_from_environment() if strict is None else strict) and not report.passed:
        raise CheckFailed(report)
    return report
