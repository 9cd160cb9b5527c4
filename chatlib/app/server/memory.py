"""The bytes the server holds for its clients, all of them together, against one ceiling.

Each client's share is bounded already: one frame being received (2 MiB at most, an IMAGE), and
its output not yet read (``max_queued_bytes``). But a thousand clients, each within its share,
would add up to gigabytes. So the two places where a client makes the server hold bytes also
count them here: the frame it is sending (``dispatch.py``) and the output waiting for it to read
(``outbox.py``). A client whose bytes would take the total over the ceiling is dropped with a
reason, and the bytes are given back at once.
"""

from __future__ import annotations

MiB = 1024 * 1024


class MemoryBudget:
    """A running total of bytes held for clients, and the ceiling it must stay under."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def change(self, held_before: int, held_now: int) -> bool:
        """Count that a client now holds ``held_now`` bytes instead of ``held_before``.

        Returns False when that growth takes the total over the ceiling (the bytes are counted
        all the same: the caller drops the client, which gives them back).
        """
        self.used += held_now - held_before
        return held_now <= held_before or self.used <= self.limit

    def describe(self) -> str:
        """The ceiling, for the reasons given to clients."""
        return f"{self.limit / MiB:g} MiB"
