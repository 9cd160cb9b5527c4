"""Check the --stage option early, so that a typo gets a one-line usage error."""

from __future__ import annotations

import pytest

from chatlib.checks import STEPS


def pytest_configure(config: pytest.Config) -> None:
    """`--stage` must name a step of the course."""
    stage = config.getoption("--stage")
    if stage and stage not in STEPS:
        raise pytest.UsageError(f"no step {stage!r}; the steps are: {', '.join(STEPS)}")
