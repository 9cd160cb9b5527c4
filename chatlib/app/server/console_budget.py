"""The server console's "message received" lines: each one at a human pace, a count under a flood.

A console line per message is what a teacher wants to see while a class chats, but under a
flood of thousands of messages a second it is unreadable, and logging it would cost more than
relaying the message. A ``LineBudget`` lets ``per_second`` lines a second through and counts
the others; at the end of a second in which some were held back, it reports how many.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

DEFAULT_LINES_PER_SECOND = 20


class LineBudget:
    """Up to ``per_second`` lines in each one-second window; ``report(count)`` tells of the rest."""

    __slots__ = ("per_second", "_report", "_clock", "_window_start", "_used", "_held_back")

    def __init__(
        self,
        report: Callable[[int], None],
        per_second: int = DEFAULT_LINES_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self._report = report
        self._clock = clock
        self._window_start = clock()
        self._used = 0
        self._held_back = 0

    def take(self) -> bool:
        """Whether one more line may be shown now; if not, it is counted for the report."""
        now = self._clock()
        if now - self._window_start >= 1.0:
            self.close_window()
            self._window_start = now
        if self._used < self.per_second:
            self._used += 1
            return True
        if not self._held_back:
            delay = max(0.0, self._window_start + 1.0 - now)
            asyncio.get_running_loop().call_later(delay, self.close_window)
        self._held_back += 1
        return False

    def take_some(self, wanted: int) -> int:
        """How many of ``wanted`` more lines may be shown now; the others are counted for the report."""
        shown = 0
        while shown < wanted:
            if not self.take():
                self._held_back += wanted - shown - 1  # take counted the first of them
                break
            shown += 1
        return shown

    def close_window(self) -> None:
        """Report the lines held back in the window that ends, if any, and start counting anew."""
        held_back, self._held_back, self._used = self._held_back, 0, 0
        if held_back:
            self._report(held_back)
