"""Options of the whole suite: which step, and which student file, tests/student checks."""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--stage STEP` and `--impl FILE` (or the CHATLIB_STAGE and CHATLIB_IMPL environment variables)."""
    group = parser.getgroup("chatlib checks", "run a course step's checks on your own code (tests/student)")
    group.addoption(
        "--stage",
        default=os.environ.get("CHATLIB_STAGE") or None,
        metavar="STEP",
        help="the step to check, e.g. ii_4, sleep_async, protocol (env CHATLIB_STAGE)",
    )
    group.addoption(
        "--impl",
        default=os.environ.get("CHATLIB_IMPL") or None,
        metavar="FILE",
        help="your Python file to check; without it, the course's own code is checked (env CHATLIB_IMPL)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """`--impl` makes sense only with the step to check it against."""
    if config.getoption("--impl") and not config.getoption("--stage"):
        raise pytest.UsageError("--impl needs --stage STEP too, e.g. --stage ii_4 --impl my_server.py")
