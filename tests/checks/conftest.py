"""The checks' own tests wait less for what never comes, and never run in strict mode by accident."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatlib.checks import peers


@pytest.fixture(autouse=True)
def short_waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A broken implementation makes the checks wait for what never comes: 0.5 s is plenty on loopback."""
    monkeypatch.setattr(peers, "WAIT_SECONDS", 0.5)
    monkeypatch.delenv("CHATLIB_CHECKS_STRICT", raising=False)
    yield
