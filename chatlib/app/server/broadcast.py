"""Relaying to a room: what the room hears during one event-loop turn reaches each member in one piece.

When S members of a room of N talk at once, queueing each message for each member costs S x N
small steps per loop turn, and that is what limits a chat server. A ``Broadcast`` keeps the
turn's frames instead, in runs grouped by the member they must skip (a message is not echoed
to its sender), and at the end of the turn joins them once: a member who sent nothing gets that
one bytes object, a sender gets the same without its own runs. The cost per message no longer
grows with the number of members; only one delivery per member per turn does.

A busy turn would make large deliveries, and a sender's copy of one is its own: so once
``max_batch_bytes`` are queued (64 KiB, the size of a transport's buffer) the room delivers at
once, without waiting for the end of the turn. The memory a room uses for relaying stays small
whatever the load.

Members come and go in the middle of a turn, and a frame must reach exactly the members present
when it was sent. Delivering to everyone at each arrival or departure would cost a write per
member each time: a hundred clients arriving at once in a room of a hundred would make ten
thousand writes. Instead the broadcast notes where a newcomer came in (it gets only the runs
queued after), and hands a member that leaves, or that is about to get a frame of its own, its
share there and then (``catch_up``): each costs the work of one member, whatever the room's size.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import Generic, TypeVar

Member = TypeVar("Member")
MAX_BATCH_BYTES = 64 * 1024
Deliver = Callable[[Member, bytes, int], None]  # (member, the bytes of some frames, how many frames)


class Broadcast(Generic[Member]):
    """The frames sent to a room since its last delivery, and their delivery to each member.

    The room must call ``welcome`` when a member joins and ``catch_up`` before one leaves, so
    that a frame goes exactly to the members present when it was sent (``RoomRegistry`` does).
    """

    __slots__ = (
        "_members",
        "_deliver",
        "_max_batch_bytes",
        "_runs",
        "_queued_bytes",
        "_delivering",
        "_caught_up",
        "_sealed",
    )

    def __init__(
        self, members: Collection[Member], deliver: Deliver[Member], max_batch_bytes: int = MAX_BATCH_BYTES
    ) -> None:
        self._members = members
        self._deliver = deliver
        self._max_batch_bytes = max_batch_bytes
        self._runs: list[tuple[Member | None, list[bytes]]] = []  # (member to skip, its frames)
        self._queued_bytes = 0
        self._delivering = False
        self._caught_up: dict[Member, int] = {}  # member: how many of the runs it has had, or came after
        self._sealed = 0  # the runs before this index take no more frames: a member came after them

    @property
    def pending(self) -> bool:
        """Whether some frames wait for the end of the turn."""
        return bool(self._runs)

    def send(self, frame: bytes, skip: Member | None = None) -> None:
        """Queue an encoded frame for every member but ``skip``, delivered at the end of this loop turn
        (or now, if that makes ``max_batch_bytes``)."""
        runs = self._runs
        if len(runs) > self._sealed and runs[-1][0] is skip:
            runs[-1][1].append(frame)
        else:
            if not runs:
                asyncio.get_running_loop().call_soon(self.deliver)
            runs.append((skip, [frame]))
        self._queued_bytes += len(frame)
        if self._queued_bytes >= self._max_batch_bytes:
            self.deliver()

    def send_all(self, frames: list[bytes], skip: Member | None = None) -> None:
        """Queue several encoded frames as ``send`` queues one, in one run."""
        runs = self._runs
        if len(runs) > self._sealed and runs[-1][0] is skip:
            runs[-1][1].extend(frames)
        else:
            if not runs:
                asyncio.get_running_loop().call_soon(self.deliver)
            runs.append((skip, frames))
        self._queued_bytes += sum(map(len, frames))
        if self._queued_bytes >= self._max_batch_bytes:
            self.deliver()

    def welcome(self, member: Member) -> None:
        """A member joins: it gets only the frames sent from now on."""
        self._caught_up[member] = self._sealed = len(self._runs)

    def catch_up(self, member: Member) -> None:
        """Hand ``member`` now, in one piece, every frame queued for it so far: before it leaves, or
        before a frame meant for it alone, which must come after them."""
        runs = self._runs
        start = self._caught_up.get(member, 0)
        if start == len(runs):
            return
        frames = [frame for skip, run in runs[start:] if skip != member for frame in run]
        self._caught_up[member] = self._sealed = len(runs)
        if frames:
            self._deliver(member, b"".join(frames), len(frames))

    def deliver(self) -> None:
        """Hand each member, in one piece, every frame queued for it since the last delivery.

        Delivering can drop a member that does not read (its outbox overflows), and the room
        then hears that it left: that news is delivered after this delivery, not in its middle.
        """
        if self._delivering:
            if self._runs:
                asyncio.get_running_loop().call_soon(self.deliver)
            return
        runs, caught_up = self._runs, self._caught_up
        self._runs, self._queued_bytes, self._caught_up, self._sealed = [], 0, {}, 0
        if not runs:
            return
        self._delivering = True
        try:
            self._deliver_runs(runs, caught_up)
        finally:
            self._delivering = False

    def _deliver_runs(
        self, runs: list[tuple[Member | None, list[bytes]]], caught_up: dict[Member, int]
    ) -> None:
        """Join the runs once and hand each member the frames meant for it: all but its own, and but
        those it had already or came in after (``caught_up``)."""
        pieces = [(skip, b"".join(frames), len(frames)) for skip, frames in runs]
        everything = pieces[0][1] if len(pieces) == 1 else b"".join(piece for _, piece, _ in pieces)
        frame_count = sum(count for _, _, count in pieces)
        skipped = {skip for skip, _, _ in pieces if skip is not None}
        for member in tuple(self._members):  # a member dropped meanwhile leaves the set
            if member in caught_up:  # it came in, or had its share, during the turn
                its_pieces = pieces[caught_up[member] :]
            elif member in skipped:
                its_pieces = pieces
            else:
                self._deliver(member, everything, frame_count)
                continue
            kept = [(piece, count) for skip, piece, count in its_pieces if skip != member]
            if kept:
                self._deliver(member, b"".join(piece for piece, _ in kept), sum(count for _, count in kept))
