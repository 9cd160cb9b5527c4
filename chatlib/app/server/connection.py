"""One connected client as the server sees it: its outbox, its pseudo and room, how lively it is.

A server may hold thousands of connections that say nothing for hours, so a connection is kept
small: ``__slots__`` (no dictionary per object), its address kept as the transport gave it (the
``"ip:port"`` text is made only for a log line), and what only some connections need (a frame
half received, a backlog for a slow reader) made when it is needed. docs/BENCHMARK.md lists
what one idle connection costs, item by item.
"""

from __future__ import annotations

import time
from typing import Any

from chatlib.app.protocol import Frame, FrameDecoder, MessageEncoder, encode
from chatlib.app.server.outbox import Outbox
from chatlib.app.server.ratelimit import FloodGuard
from chatlib.app.server.rooms import Room
from chatlib.app.server.users import KnownUser


class Connection:
    """One connected client: its outgoing frames, how lively it is, and what the server knows about it.

    ``outbox.send`` queues encoded frames without waiting (see outbox.py); what a room says
    reaches it through the room's broadcast (see broadcast.py), once per loop turn.
    """

    __slots__ = (
        "outbox",
        "peer",
        "decoder",
        "held",
        "pseudo",
        "room",
        "user",
        "said",
        "returning",
        "connected_at",
        "last_heard",
        "pinged_at",
        "flood_guard",
        "leaving",
        "departed",
    )

    def __init__(self, outbox: Outbox, peer: tuple[Any, ...], flood_guard: FloodGuard | None = None) -> None:
        self.outbox = outbox
        self.peer = peer  # (ip, port, ...) as the transport gives it: ("?", 0) if unknown
        self.decoder = FrameDecoder("client")
        self.held = 0  # bytes of a frame half received, counted in the server's memory budget
        self.pseudo: str | None = None
        self.room: Room[Connection] | None = None
        self.user: KnownUser | None = None
        self.said: MessageEncoder | None = None  # encodes what this client says, once it has a pseudo
        self.returning = False  # a known user back: their next room hears "est de retour"
        self.connected_at = self.last_heard = time.monotonic()  # last_heard: when it last sent anything
        self.pinged_at: float | None = None  # when the server sent a PING still unanswered
        self.flood_guard = flood_guard  # its rate limit (None: no limit)
        self.leaving = False  # nothing it sends is acted on any more
        self.departed = False  # its room and its user know it is gone

    @property
    def ip(self) -> str:
        """The client's IP address (connections are counted per address)."""
        return str(self.peer[0])

    @property
    def address(self) -> str:
        """``ip:port``, for the logs."""
        return f"{self.peer[0]}:{self.peer[1]}"

    @property
    def user_id(self) -> str:
        """The user's ID once its HELLO is accepted, else ``""``."""
        return self.user.user_id if self.user is not None else ""

    @property
    def color(self) -> str:
        """The user's color once its HELLO is accepted, else ``""``."""
        return self.user.color if self.user is not None else ""

    def send_frame(self, frame: Frame) -> None:
        """Encode and queue one frame for this client alone, after what its room sent it before."""
        if self.room is not None:
            self.room.broadcast.catch_up(self)
        self.outbox.send(encode(frame))

    @property
    def name(self) -> str:
        """How the console logs name this client: its pseudo once known, else its address."""
        return f"{self.pseudo} ({self.address})" if self.pseudo else self.address


def deliver(connection: Connection, data: bytes, frames: int) -> None:
    """How a room's broadcast reaches one member, at the end of a loop turn: written out at once."""
    connection.outbox.send(data, frames)
    connection.outbox.flush()
