"""Steps and their scenarios, and how one scenario is run and turned into a result."""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from chatlib.checks.report import Mismatch, ScenarioResult, Status
from chatlib.checks.sandbox import run_isolated

Implementation = dict[str, Any]
"""What the student gave, by keyword: e.g. {"server": start_server, "client": run_client}."""

SCENARIO_TIMEOUT = 10.0


@dataclass(frozen=True)
class Scenario:
    """One thing to try on an implementation; `run` raises Mismatch when it goes wrong."""

    name: str
    needs: tuple[str, ...]
    run: Callable[[Implementation], Awaitable[None]]
    timeout: float = SCENARIO_TIMEOUT


@dataclass(frozen=True)
class Step:
    """A step of the course: the keywords it takes, the names to look for in a file, its scenarios."""

    name: str
    title: str
    names: dict[str, tuple[str, ...]]
    scenarios: list[Scenario] = field(default_factory=list)
    adapt: Callable[[Implementation], Implementation] = lambda implementation: implementation

    def scenario(self, name: str) -> Scenario:
        """The scenario called `name`; KeyError if this step has none."""
        for scenario in self.scenarios:
            if scenario.name == name:
                return scenario
        raise KeyError(f"{self.name} has no scenario {name!r}")


async def run_scenario(scenario: Scenario, given: Implementation, skeletons: set[str]) -> ScenarioResult:
    """Run one scenario on `given` and say how it went; never raises (but lets Ctrl+C through)."""
    missing = [keyword for keyword in scenario.needs if given.get(keyword) is None]
    if missing:
        return ScenarioResult(
            scenario.name, Status.NOT_GIVEN, (f"give {'=..., '.join(missing)}=... to check them",)
        )
    waiting = [keyword for keyword in scenario.needs if keyword in skeletons]
    if waiting:
        names = ", ".join(function_name(given[keyword], keyword) for keyword in waiting)
        return ScenarioResult(scenario.name, Status.NOT_IMPLEMENTED, (f"{names} still a skeleton",))
    raised_meanwhile: list[BaseException] = []
    try:
        await run_isolated(lambda: scenario.run(given), scenario.timeout, raised_meanwhile)
    except NotImplementedError:
        return ScenarioResult(scenario.name, Status.NOT_IMPLEMENTED, ("raised NotImplementedError",))
    except Mismatch as mismatch:
        details = [*mismatch.details(), *errors_meanwhile(raised_meanwhile)]
        return ScenarioResult(scenario.name, Status.FAIL, tuple(details))
    except TimeoutError:
        stuck = f"did not finish within {scenario.timeout:g} s (is something stuck?)"
        return ScenarioResult(scenario.name, Status.FAIL, (stuck, *errors_meanwhile(raised_meanwhile)))
    except Exception as error:
        return ScenarioResult(scenario.name, Status.FAIL, unexpected_error(error))
    if any(isinstance(error, NotImplementedError) for error in raised_meanwhile):
        return ScenarioResult(scenario.name, Status.NOT_IMPLEMENTED, ("raised NotImplementedError",))
    return ScenarioResult(scenario.name, Status.PASS, errors_meanwhile(raised_meanwhile))


def function_name(implementation: Any, keyword: str) -> str:
    """The name the student gave a function (`handle_client`), else the keyword it was given as."""
    return getattr(inspect.unwrap(implementation), "__name__", keyword)


def errors_meanwhile(errors: list[BaseException]) -> tuple[str, ...]:
    """Report lines for the exceptions the code under test raised in its own tasks (a server's handler)."""
    if not errors:
        return ()
    first = unexpected_error(errors[0])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return (f"meanwhile your code {first[0]}{more}", *first[1:])


def unexpected_error(error: BaseException) -> tuple[str, ...]:
    """Report lines for an exception the implementation raised: what, and the line it came from."""
    lines = [f"raised {type(error).__name__}: {error}"]
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        last = frames[-1]
        lines.append(
            f"at {last.filename}, line {last.lineno}, in {last.name}: {last.line or ''}".rstrip(": ")
        )
    return tuple(lines)
