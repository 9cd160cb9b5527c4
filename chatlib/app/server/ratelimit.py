"""Flood control: token buckets, which let bursts through and slow down or refuse floods.

Pure logic with an injectable clock, so it is tested without waiting. The server asks
``FloodGuard.delay`` before acting on each frame a client sends and waits the answer (it stops
reading that client meanwhile, so TCP pushes back on the flooder and nobody else is slowed).
``AddressAllowance`` counts what one IP address does across its connections (connecting,
registering new pseudos) and refuses what goes over.
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


@dataclass(frozen=True)
class Allowance:
    """How often one IP address may do something: ``burst`` times at once, then ``per_second`` on average."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError(f"an allowance needs per_second > 0 and burst >= 1: {self}")


class AddressAllowance:
    """A token bucket per IP address; addresses whose bucket is full again are forgotten.

    At most ``max_addresses`` are remembered: past that, the full buckets are dropped (they are
    the same as new ones), then if need be the oldest, so the memory used stays bounded even when
    connections come from a great many addresses.
    """

    __slots__ = ("allowance", "max_addresses", "_clock", "_buckets")

    def __init__(
        self, allowance: Allowance, clock: Callable[[], float] = time.monotonic, max_addresses: int = 10_000
    ) -> None:
        self.allowance = allowance
        self.max_addresses = max_addresses
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address: (tokens, when they were counted)

    def take(self, address: str) -> bool:
        """Use one of ``address``'s tokens if it has one left (True), or refuse (False)."""
        now = self._clock()
        allowance = self.allowance
        tokens, then = self._buckets.get(address, (float(allowance.burst), now))
        tokens = min(float(allowance.burst), tokens + (now - then) * allowance.per_second)
        if tokens < 1:
            self._buckets[address] = (tokens, now)
            return False
        if address not in self._buckets and len(self._buckets) >= self.max_addresses:
            self._forget_some(now)
        self._buckets[address] = (tokens - 1, now)
        return True

    def _forget_some(self, now: float) -> None:
        """Drop the buckets that are full again, and the oldest if that is not enough."""
        allowance = self.allowance
        self._buckets = {
            address: (tokens, then)
            for address, (tokens, then) in self._buckets.items()
            if tokens + (now - then) * allowance.per_second < allowance.burst
        }
        while len(self._buckets) >= self.max_addresses // 2:
            del self._buckets[next(iter(self._buckets))]

    def __len__(self) -> int:
        return len(self._buckets)
