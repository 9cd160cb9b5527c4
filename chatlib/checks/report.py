"""What a check found: one result per scenario, the whole report, and how they are printed."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from typing import Any

STRICT_ENVIRONMENT_VARIABLE = "CHATLIB_CHECKS_STRICT"
MAX_SHOWN_CHARACTERS = 600


class Status(enum.Enum):
    """How one scenario ended, with the word the report shows for it."""

    PASS = "PASS"
    FAIL = "FAIL"
    NOT_IMPLEMENTED = "not implemented yet"
    NOT_GIVEN = "not checked"
    NOT_RUN = "not run"


class Mismatch(Exception):
    """Raised by a scenario when the implementation did not do what was expected.

    `sent` says what the check did, `expected` what should have come back (byte for byte,
    as a repr) and `arrived` what actually came, so the student sees all three.
    """

    def __init__(
        self,
        problem: str,
        *,
        sent: str = "",
        expected: str = "",
        arrived: str = "",
        hint: str = "",
        table: tuple[str, ...] = (),
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.sent = sent
        self.expected = expected
        self.arrived = arrived
        self.hint = hint
        self.table = table
        """Lines shown as they are, between `arrived` and `hint` (a frame field by field, say)."""

    def details(self) -> list[str]:
        """The report lines under the scenario's name."""
        lines = [self.problem]
        labelled = (
            ("sent", self.sent),
            ("expected", self.expected),
            ("arrived", self.arrived),
            ("hint", self.hint),
        )
        for label, text in labelled:
            if label == "hint":
                lines.extend(self.table)
            if text:
                lines.append(f"{label + ':':9} {shorten(text)}")
        return lines


def show_bytes(data: bytes) -> str:
    """Bytes exactly as Python writes them, plus the text they hold when it is not plain ASCII."""
    written = repr(data)
    if not data.isascii():
        try:
            written += f" (as text: {data.decode()!r})"
        except UnicodeDecodeError:
            pass
    return written


def shorten(text: str, limit: int = MAX_SHOWN_CHARACTERS) -> str:
    """`text`, cut in the middle if it is too long to read in a report."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}[...{len(text) - limit} characters...]{text[-half:]}"


@dataclass(frozen=True)
class ScenarioResult:
    """The outcome of one scenario: its status and the lines explaining it."""

    name: str
    status: Status
    details: tuple[str, ...] = ()
    elapsed: float = 0.0
    """Seconds the scenario took (0 when it was not run)."""
    cause: str = ""
    """For a failure, its kind: mismatch, exception, timeout, blocked the event loop, keyboard, exit..."""

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (JSON-ready), for a grading tool."""
        return {
            "name": self.name,
            "status": self.status.name,
            "details": list(self.details),
            "elapsed": self.elapsed,
            "cause": self.cause,
        }

    def text(self) -> str:
        """The scenario as the report prints it: a status word, the name, then indented details."""
        lines = [f"  {self.status.value:<19} {self.name}"]
        if self.status is Status.NOT_IMPLEMENTED:
            return lines[0]
        lines.extend(f"  {'':<19}   {line}" for line in self.details)
        return "\n".join(lines)


@dataclass
class CheckReport:
    """Every scenario's result for one step; `passed` is False as soon as one of them failed."""

    step: str
    title: str
    results: list[ScenarioResult] = field(default_factory=list)

    def count(self, status: Status) -> int:
        """How many scenarios ended with `status`."""
        return sum(result.status is status for result in self.results)

    @property
    def passed(self) -> bool:
        """True when no scenario failed (scenarios not implemented yet or not given do not fail)."""
        return self.count(Status.FAIL) == 0

    @property
    def failures(self) -> list[ScenarioResult]:
        """The scenarios that failed."""
        return [result for result in self.results if result.status is Status.FAIL]

    def summary(self) -> str:
        """One line: the step and how many scenarios ended each way."""
        counts = [f"{self.count(Status.PASS)} passed", f"{self.count(Status.FAIL)} failed"]
        if waiting := self.count(Status.NOT_IMPLEMENTED):
            skeletons = sorted(
                {
                    detail.removesuffix(" still a skeleton")
                    for result in self.results
                    if result.status is Status.NOT_IMPLEMENTED
                    for detail in result.details
                    if detail.endswith(" still a skeleton")
                }
            )
            to_write = f" (to write: {', '.join(skeletons)})" if skeletons else ""
            counts.append(f"{waiting} not implemented yet{to_write}")
        if not_given := self.count(Status.NOT_GIVEN):
            missing = sorted(
                {
                    detail
                    for result in self.results
                    if result.status is Status.NOT_GIVEN
                    for detail in result.details
                }
            )
            counts.append(f"{not_given} not checked ({', '.join(missing)})")
        if not_run := self.count(Status.NOT_RUN):
            counts.append(f"{not_run} not run")
        return f"Checks for {self.step} ({self.title}): {', '.join(counts)}"

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (JSON-ready): the step, whether it passed, every scenario's result."""
        return {
            "step": self.step,
            "title": self.title,
            "passed": self.passed,
            "summary": self.summary(),
            "results": [result.to_dict() for result in self.results],
        }

    def text(self) -> str:
        """The whole report: the summary line, then each scenario checked."""
        shown = [result for result in self.results if result.status is not Status.NOT_GIVEN]
        return "\n".join([self.summary(), *(result.text() for result in shown)])

    def verdict(self) -> str:
        """A one-line conclusion, shown when the report is a notebook cell's result."""
        if not self.passed:
            return f"{self.step}: not there yet, {self.count(Status.FAIL)} scenario(s) failed (see above)"
        if self.count(Status.NOT_IMPLEMENTED):
            waiting = self.count(Status.NOT_IMPLEMENTED)
            return f"{self.step}: nothing wrong so far, {waiting} scenario(s) to implement"
        return f"{self.step}: every scenario checked passed"

    def __repr__(self) -> str:
        return f"<CheckReport {self.summary()}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython shows the verdict under the printed report, not the whole report again."""
        printer.text(self.verdict())


class CheckFailed(AssertionError):
    """Raised in strict mode when a scenario failed; its message is the whole report."""

    def __init__(self, report: CheckReport) -> None:
        super().__init__(report.text())
        self.report = report


def strict_from_environment() -> bool:
    """Whether CHATLIB_CHECKS_STRICT asks for strict mode (1, true, yes or on)."""
    return os.environ.get(STRICT_ENVIRONMENT_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")
