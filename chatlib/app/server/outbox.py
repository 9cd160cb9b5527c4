"""One client's outgoing frames: one write per event-loop turn, and a bounded backlog for slow readers.

Broadcasting must never wait for the slowest reader. ``send`` only appends an already-encoded
frame to a list (no await, no system call); at the end of the loop turn everything queued goes
to the socket in a single write. While the client reads fast enough, the transport sends it at
once. When the client falls behind and the transport's own buffer passes its high-water mark
(64 KiB), further batches wait in a backlog that a small drain task feeds to the transport as
the client catches up. The backlog is bounded in bytes and in frames: a client that stops
reading goes over the bound and is dropped (``on_overflow``), so the server's memory stays
bounded whatever one client does, and nobody else waits for it. Backlogs also count against the
server's memory budget for all its clients together (memory.py): the client whose backlog takes
the total over it is dropped the same way.

Most clients read as fast as they are written to, and most of the time nothing waits for them at
all: so the list of a turn's frames and the backlog are made when there is something to put in
them, and an idle client's outbox is a handful of references.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from contextlib import suppress

from chatlib.app.server.memory import MemoryBudget
from chatlib.app.server.streams import ByteWriter


class Outbox:
    """The frames waiting to go to one client, sent in one write per loop turn, within bounds."""

    __slots__ = (
        "_writer",
        "_transport",
        "_loop",
        "_max_bytes",
        "_max_frames",
        "_on_overflow",
        "_turn",
        "_turn_frames",
        "_backlog",
        "_backlog_bytes",
        "_backlog_frames",
        "_drainer",
        "_high_water",
        "_budget",
        "closed",
    )

    def __init__(
        self,
        writer: ByteWriter,
        max_bytes: int,
        max_frames: int,
        on_overflow: Callable[[str], None],
        budget: MemoryBudget | None = None,
    ) -> None:
        self._writer = writer
        self._transport = writer.transport
        self._loop = asyncio.get_running_loop()
        self._max_bytes = max_bytes
        self._max_frames = max_frames
        self._on_overflow = on_overflow
        self._turn: list[bytes] | None = None  # frames queued during this loop turn, if any
        self._turn_frames = 0  # how many frames those bytes hold (a room's delivery holds several)
        self._backlog: deque[tuple[bytes, int]] | None = None  # (batch, its frame count) not sent yet
        self._backlog_bytes = 0
        self._backlog_frames = 0
        self._drainer: asyncio.Task[None] | None = None
        self._high_water = self._transport.get_write_buffer_limits()[1]
        self._budget = budget or MemoryBudget(max_bytes)  # the server's, shared by every outbox
        self.closed = False

    @property
    def queued_bytes(self) -> int:
        """Bytes accepted for this client and not yet handed to the kernel."""
        turn = sum(map(len, self._turn)) if self._turn else 0
        return self._transport.get_write_buffer_size() + self._backlog_bytes + turn

    def send(self, data: bytes, frames: int = 1) -> None:
        """Queue encoded frames (one, or ``frames`` joined), without waiting: no I/O here."""
        if self._turn is None:
            self._turn = [data]
            self._loop.call_soon(self.flush)
        else:
            self._turn.append(data)
        self._turn_frames += frames

    def flush(self) -> None:
        """Hand this turn's frames to the transport in one write, or to the backlog if it is full."""
        pieces, frame_count = self._turn, self._turn_frames
        if pieces is None:
            return
        self._turn, self._turn_frames = None, 0
        if self.closed or self._transport.is_closing():
            return
        batch = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        if not self._backlog and self._transport.get_write_buffer_size() <= self._high_water:
            self._transport.write(batch)
            return
        if self._backlog is None:
            self._backlog = deque()
        self._backlog.append((batch, frame_count))
        self._backlog_bytes += len(batch)
        self._backlog_frames += frame_count
        within_budget = self._budget.change(0, len(batch))
        if self._backlog_bytes + self._transport.get_write_buffer_size() > self._max_bytes:
            self._overflow(f"more than {self._max_bytes} bytes waiting to be read")
        elif not within_budget:
            self._overflow(
                f"the server holds {self._budget.describe()} for its clients already, "
                f"{self._backlog_bytes} bytes of it waiting for you to read"
            )
        elif self._backlog_frames > self._max_frames:
            self._overflow(f"more than {self._max_frames} frames waiting to be read")
        elif self._drainer is None:
            self._drainer = self._loop.create_task(self._drain(), name="drain a slow client")

    async def _drain(self) -> None:
        """Feed the backlog to the transport as fast as the client reads it, then end."""
        try:
            while self._backlog and not self.closed:
                await self._writer.drain()  # returns once the transport is below its low-water mark
                while self._backlog and self._transport.get_write_buffer_size() <= self._high_water:
                    batch, frame_count = self._backlog.popleft()
                    self._backlog_bytes -= len(batch)
                    self._backlog_frames -= frame_count
                    self._budget.change(len(batch), 0)
                    self._transport.write(batch)
            if not self._backlog:
                self._backlog = None  # caught up: no deque kept for a client that keeps up
        except ConnectionError:
            self._forget_backlog()
        finally:
            self._drainer = None

    def _forget_backlog(self) -> None:
        self._budget.change(self._backlog_bytes, 0)
        self._backlog = None
        self._backlog_bytes = self._backlog_frames = 0

    def _overflow(self, reason: str) -> None:
        """Give up on a client that does not read: free its backlog and let the server drop it."""
        self._forget_backlog()
        self._on_overflow(reason)

    def close(self, last_frame: bytes = b"", grace: float = 1.0) -> None:
        """Send what is queued (then ``last_frame``) and close; abort after ``grace`` s if still unread.

        After an overflow the backlog is gone already, and ``last_frame`` (an ERROR) still reaches
        a client that reads again within the grace. Where it can, the outbox only ends its own
        direction (a FIN after the last byte) and the server reads and drops what the client
        still sends until it closes too: closing a socket with unread bytes in it would reset
        the connection, and a client flooding the server would never see the ERROR saying why.
        """
        if self.closed:
            return
        self.flush()
        self.closed = True
        if not self._transport.is_closing():
            pending = b"".join(batch for batch, _ in self._backlog or ()) + last_frame
            if pending:
                self._transport.write(pending)
            try:
                if not self._transport.can_write_eof():
                    raise OSError("this transport cannot close one direction only")
                self._transport.write_eof()
            except OSError:  # or the client is gone already
                self._transport.close()
        self._forget_backlog()
        self._loop.call_later(grace, self.abort)

    def abort(self) -> None:
        """Close at once, dropping whatever the client has not read."""
        self.closed = True
        self._forget_backlog()
        with suppress(RuntimeError):  # the loop may be closing already
            self._transport.abort()
