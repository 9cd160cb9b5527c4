"""Flood control: a token bucket per client, which lets bursts through and slows then stops floods.

Pure logic with an injectable clock, so it is tested without waiting. The server asks
``FloodGuard.delay`` before acting on each SAY or IMAGE and waits the answer (it stops reading
that client meanwhile, so TCP pushes back on the flooder and nobody else is slowed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """How fast one client may talk: ``per_second`` messages on average, ``burst`` at once.

    A message that finds the bucket empty waits for its token; after ``max_delayed`` such
    messages in a row (a flood that goes on), the client is disconnected.
    """

    per_second: float = 5.0
    burst: int = 10
    max_delayed: int = 50

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1 or self.max_delayed < 0:
            raise ValueError(f"a rate limit needs per_second > 0, burst >= 1, max_delayed >= 0: {self}")


class Flooding(Exception):
    """The client kept sending faster than its rate limit for too long."""


class FloodGuard:
    """One client's token bucket: starts full with ``burst`` tokens, refills at ``per_second``."""

    __slots__ = ("limit", "_clock", "_tokens", "_last", "_delayed")

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._tokens = float(limit.burst)
        self._last = clock()
        self._delayed = 0

    def delay(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens; return the seconds to wait before acting (0.0: act now).

        Raises Flooding once ``max_delayed`` messages in a row have had to wait.
        """
        now = self._clock()
        limit = self.limit
        self._tokens = min(float(limit.burst), self._tokens + (now - self._last) * limit.per_second)
        self._last = now
        self._tokens -= cost
        if self._tokens >= 0:
            self._delayed = 0
            return 0.0
        self._delayed += 1
        if self._delayed > limit.max_delayed:
            raise Flooding(
                f"more than {limit.per_second:g} messages per second for too long "
                f"({limit.max_delayed} slowed down in a row)"
            )
        return -self._tokens / limit.per_second
