"""The heartbeat of a scenario's event loop, and where the student's code was when the loop was late.

The worker's loop ticks every BEAT_SECONDS; a watcher in another thread compares the time with
the last tick. A late tick means something on the loop is not awaiting: the watcher samples the
worker's stack then, to name the student's line.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass

from chatlib.checks.locations import Spot, thread_is_idle, thread_spot

BEAT_SECONDS = 0.005
"""How often the worker's loop ticks its heartbeat."""
LATE_SECONDS = 0.012
"""A heartbeat this late means the loop is busy: the watcher notes where the student's code is."""
STREAM_READS = ("asyncio.streams.read",)


@dataclass(frozen=True)
class Freeze:
    """The event loop stayed blocked `seconds` seconds, with the student's code at `spot`."""

    seconds: float
    spot: Spot | None


class LoopWatch:
    """The worker loop's heartbeat, and where the student's code was whenever the loop was late."""

    def __init__(self) -> None:
        self.last_beat = time.monotonic()
        self.thread_ident = 0
        self.busy_samples: list[tuple[float, Spot]] = []
        self.late_beats: list[tuple[float, float]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start ticking on `loop` (called from the worker thread)."""
        self._loop = loop
        self.thread_ident = threading.get_ident()
        self._beat()

    def _beat(self) -> None:
        now = time.monotonic()
        if (late := now - self.last_beat - BEAT_SECONDS) > LATE_SECONDS:
            self.late_beats.append((now, late))
        self.last_beat = now
        assert self._loop is not None
        self._loop.call_later(BEAT_SECONDS, self._beat)

    def blocked_seconds(self, since: float) -> float:
        """How long, in all, the loop was too busy to tick since `since` (its late heartbeats added up)."""
        return sum(late for moment, late in self.late_beats if moment >= since)

    def lateness(self) -> float:
        """Seconds since the last heartbeat."""
        return time.monotonic() - self.last_beat

    def sample(self) -> None:
        """Note where the student's code is, if the worker is busy in it (called by the watcher)."""
        if self.thread_ident and not thread_is_idle(self.thread_ident):
            if (found := thread_spot(self.thread_ident)) is not None:
                self.busy_samples.append((time.monotonic(), found))

    def blocking_spot(self, since: float, at_least: int = 3) -> Spot | None:
        """The student's line the loop was most often blocked at since `since`, if seen `at_least` times.

        A line reading a stream wins over any other: a loop that spins on `read()` returning b''
        is best shown at its read. At that line, the library call it was most often inside is
        named (`requests.api.get`), even if a sample caught the line between two calls.
        """
        spots = [spot for moment, spot in self.busy_samples if moment >= since]
        seen = Counter((spot.file, spot.line) for spot in spots)
        if not seen:
            return None
        (file, line), count = seen.most_common(1)[0]
        if count < at_least:
            return None
        reading = [spot for spot in spots if spot.reads_ended_stream or spot.inside.startswith(STREAM_READS)]
        if reading:
            return reading[-1]
        at_line = [spot for spot in spots if (spot.file, spot.line) == (file, line)]
        calls = Counter(spot.inside for spot in at_line if spot.inside)
        if calls:
            inside = calls.most_common(1)[0][0]
            return next(spot for spot in reversed(at_line) if spot.inside == inside)
        return at_line[-1]
