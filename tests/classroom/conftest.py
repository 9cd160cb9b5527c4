"""The class editions, built once per test session (per xdist worker): the student's, the
teacher's key, and a student edition with two steps' solutions revealed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatlib.classroom.release import Edition, release


@pytest.fixture(scope="session")
def student_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`course.py release DIR`."""
    return release(tmp_path_factory.mktemp("editions") / "student", Edition())


@pytest.fixture(scope="session")
def teacher_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`course.py release DIR --solutions`."""
    return release(tmp_path_factory.mktemp("editions") / "key", Edition(solutions=True))


@pytest.fixture(scope="session")
def revealed_edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`course.py release DIR --reveal ii_2,protocol`."""
    return release(
        tmp_path_factory.mktemp("editions") / "revealed", Edition(reveal=frozenset({"ii_2", "protocol"}))
    )


def edition_environment(edition: Path) -> dict[str, str]:
    """The environment in which Python (and a notebook's kernel) imports the edition's own chatlib."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = str(edition)
    environment.pop("CHATLIB_MYCODE", None)
    return environment
