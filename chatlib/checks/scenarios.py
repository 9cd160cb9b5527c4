"""Steps and their scenarios, and how one scenario is run and turned into a result."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from chatlib.checks.isolation import Outcome, StudentExit, run_isolated
from chatlib.checks.keyboard import KeyboardUnavailable, no_keyboard
from chatlib.checks.stopping import ScenarioAbandoned
from chatlib.checks.locations import Spot, last_frame, spot, traceback_spot
from chatlib.checks.report import Mismatch, ScenarioResult, Status

Implementation = dict[str, Any]
"""What the student gave, by keyword: e.g. {"server": start_server, "client": run_client}."""

SCENARIO_TIMEOUT = 10.0
BLOCKED_NOTE_SECONDS = 0.5
"""Blocked this long in all, the loop gets a note in a failure's report, even in short blocks."""
STREAM_READS = ("asyncio.streams.read",)
BLOCKING_NETWORK_LIBRARIES = ("requests", "urllib3", "http.client", "socket", "ssl", "urllib")


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
    aliases: dict[str, str] = field(default_factory=dict)
    """Keywords `adapt` turns into another, such as handler= into server=."""

    def scenario(self, name: str) -> Scenario:
        """The scenario called `name`; KeyError if this step has none."""
        for scenario in self.scenarios:
            if scenario.name == name:
                return scenario
        raise KeyError(f"{self.name} has no scenario {name!r}")


async def run_scenario(
    scenario: Scenario, given: Implementation, skeletons: set[str], problems: dict[str, str] | None = None
) -> ScenarioResult:
    """Run one scenario on `given`, isolated, and say how it went; never raises for the student's code.

    `problems` maps a keyword to why what was given for it cannot be run (see runner.prepare).
    """
    missing = [keyword for keyword in scenario.needs if given.get(keyword) is None]
    unusable = [problems[keyword] for keyword in scenario.needs if problems and keyword in problems]
    if unusable:
        return ScenarioResult(scenario.name, Status.FAIL, tuple(unusable), cause="not a function")
    if missing:
        return ScenarioResult(
            scenario.name, Status.NOT_GIVEN, (f"give {'=..., '.join(missing)}=... to check them",)
        )
    waiting = [keyword for keyword in scenario.needs if keyword in skeletons]
    if waiting:
        names = ", ".join(function_name(given[keyword], keyword) for keyword in waiting)
        return ScenarioResult(scenario.name, Status.NOT_IMPLEMENTED, (f"{names} still a skeleton",))
    with no_keyboard() as keyboard_uses:
        first_use = len(keyboard_uses)
        outcome = await run_isolated(lambda: scenario.run(given), scenario.timeout)
        uses = keyboard_uses[first_use:]
    result = judge(scenario, outcome, uses)
    return ScenarioResult(result.name, result.status, result.details, round(outcome.elapsed, 3), result.cause)


def judge(
    scenario: Scenario, outcome: Outcome, keyboard_uses: list[tuple[str, Spot | None]]
) -> ScenarioResult:
    """The result of one run, the most telling cause first."""
    name = scenario.name
    error = outcome.escaped or outcome.error
    if outcome.freeze is not None:
        return ScenarioResult(name, Status.FAIL, freeze_details(outcome), cause="blocked the event loop")
    if keyboard_uses:
        what, where = keyboard_uses[0]
        where = where or next(
            (
                traceback_spot(raised)
                for raised in (error, *outcome.raised_meanwhile)
                if isinstance(raised, KeyboardUnavailable)
            ),
            None,
        )
        details = [
            f"your code {what}, which waits for a keyboard: a check has none (and a notebook "
            "cell would wait forever)",
            *([f"at {where}"] if where else []),
            "hint:     read what the user types with `await read_line(prompt)`, the function run_client "
            "is given (from ii_5, the pseudo is asked before and comes as its `pseudo` parameter)",
        ]
        return ScenarioResult(name, Status.FAIL, tuple(details), cause="keyboard")
    exit_request = exit_requested(error, outcome.raised_meanwhile)
    if exit_request is not None:
        return ScenarioResult(name, Status.FAIL, exit_details(exit_request), cause="exit")
    if isinstance(error, NotImplementedError):
        return ScenarioResult(name, Status.NOT_IMPLEMENTED, ("raised NotImplementedError",))
    if isinstance(error, Mismatch):
        said = "\n".join(error.details())
        note = (
            []
            if outcome.blocked_at is not None and str(outcome.blocked_at) in said
            else blocked_note(outcome)
        )
        details = [*error.details(), *note, *errors_meanwhile(outcome.raised_meanwhile)]
        if outcome.writes_after_close:
            details.append(
                f"note:     your server wrote {outcome.writes_after_close} times to a connection already "
                "closed (is a client that left still in CLIENTS?)"
            )
        return ScenarioResult(name, Status.FAIL, tuple(details), cause="mismatch")
    if isinstance(error, TimeoutError) or outcome.overtime:
        details = [f"did not finish within {scenario.timeout:g} s (is something stuck?)"]
        details += [f"your code was waiting at {where}" for where in outcome.waiting[:3]]
        details += blocked_note(outcome)
        details += errors_meanwhile(outcome.raised_meanwhile)
        return ScenarioResult(name, Status.FAIL, tuple(details), cause="timeout")
    if error is not None and not isinstance(error, (asyncio.CancelledError, ScenarioAbandoned)):
        return ScenarioResult(name, Status.FAIL, unexpected_error(error), cause="exception")
    if any(isinstance(raised, NotImplementedError) for raised in outcome.raised_meanwhile):
        return ScenarioResult(name, Status.NOT_IMPLEMENTED, ("raised NotImplementedError",))
    if not outcome.finished:
        return ScenarioResult(name, Status.FAIL, ("did not let go of its thread",), cause="timeout")
    return ScenarioResult(name, Status.PASS, errors_meanwhile(outcome.raised_meanwhile))


def blocked_note(outcome: Outcome) -> list[str]:
    """A note when the event loop was blocked a while in all (many short blocks), saying where."""
    if outcome.blocked_seconds < BLOCKED_NOTE_SECONDS or outcome.blocked_at is None:
        return []
    return [
        f"note:     the event loop was blocked {outcome.blocked_seconds:.1f} s in all, mostly at "
        f"{outcome.blocked_at}",
        f"hint:     {freeze_hint(outcome.blocked_at)}",
    ]


def freeze_details(outcome: Outcome) -> tuple[str, ...]:
    """Report lines for an event loop blocked past the limit: how long, where, and the likely reason."""
    assert outcome.freeze is not None
    where = outcome.freeze.spot
    lines = [f"your code blocked the event loop for {outcome.freeze.seconds:.0f} s"]
    if where is not None:
        lines[0] += f", at {where}"
        lines.append(f"hint:     {freeze_hint(where)}")
    else:
        lines.append("hint:     " + GENERIC_FREEZE_HINT)
    return tuple(lines)


GENERIC_FREEZE_HINT = (
    "nothing else runs while a coroutine does not await: a loop needs an `await` that really waits, "
    "and a blocking call (time.sleep, requests, input) has no place in a coroutine"
)


def freeze_hint(where: Spot) -> str:
    """Why the loop is likely blocked at `where`."""
    if where.reads_ended_stream or where.inside.startswith(STREAM_READS):
        return (
            "once the other side has closed the connection, read() and readline() return b'' at once, "
            "every time: stop reading when they return b'' (`if not data: break`)"
        )
    if where.inside.startswith(BLOCKING_NETWORK_LIBRARIES):
        return "a blocking network call (requests, socket) stops the whole event loop: use aiohttp or streams"
    if "sleep(" in where.code and "asyncio.sleep" not in where.code:
        return "time.sleep() stops the whole event loop; in a coroutine use `await asyncio.sleep(...)`"
    return GENERIC_FREEZE_HINT


def exit_requested(error: BaseException | None, meanwhile: list[BaseException]) -> BaseException | None:
    """The sys.exit() (or KeyboardInterrupt) the student's code raised, if any."""
    for candidate in (error, *meanwhile):
        if isinstance(candidate, StudentExit):
            return candidate.original
        if isinstance(candidate, (SystemExit, KeyboardInterrupt)):
            return candidate
    return None


def exit_details(exit_request: BaseException) -> tuple[str, ...]:
    """Report lines for sys.exit() in the student's code."""
    what = "sys.exit()" if isinstance(exit_request, SystemExit) else "KeyboardInterrupt"
    lines = [
        f"your code raised {what}: that would end the whole program (or the notebook's kernel); "
        "return from the function instead"
    ]
    if (where := traceback_spot(exit_request)) is not None:
        lines.append(f"at {where}")
    return tuple(lines)


def function_name(implementation: Any, keyword: str) -> str:
    """The name the student gave a function (`handle_client`), else the keyword it was given as."""
    return getattr(inspect.unwrap(implementation), "__name__", keyword)


def errors_meanwhile(errors: list[BaseException]) -> tuple[str, ...]:
    """Report lines for the exceptions the code under test raised in its own tasks (a server's handler)."""
    errors = [error for error in errors if not isinstance(error, KeyboardUnavailable)]
    if not errors:
        return ()
    first = unexpected_error(errors[0])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return (f"meanwhile your code {first[0]}{more}", *first[1:])


def unexpected_error(error: BaseException) -> tuple[str, ...]:
    """Report lines for an exception the implementation raised: what, and the student's line it came from."""
    lines = [f"raised {type(error).__name__}: {error}".rstrip(": ")]
    where = traceback_spot(error)
    raised_at = last_frame(error)
    if where is not None:
        inside = f" (inside {where.inside})" if where.inside else ""
        lines.append(f"at {where}{inside}")
    elif raised_at is not None:
        lines.append(f"at {spot(*raised_at)}")
    return tuple(lines)
