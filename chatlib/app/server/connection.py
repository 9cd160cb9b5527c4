"""One connected client as the server sees it: its outbox, its pseudo and room, how lively it is."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from chatlib.app.protocol import Frame, MessageEncoder, encode
from chatlib.app.server.outbox import Outbox
from chatlib.app.server.ratelimit import FloodGuard
from chatlib.app.server.rooms import Room
from chatlib.app.server.users import KnownUser


@dataclass(eq=False)
class Connection:
    """One connected client: its outgoing frames, how lively it is, and what the server knows about it.

    ``outbox.send`` queues encoded frames without waiting (see outbox.py); what a room says
    reaches it through the room's broadcast (see broadcast.py), once per loop turn.
    """

    outbox: Outbox
    ip: str
    address: str
    pseudo: str | None = None
    user_id: str = ""
    color: str = ""
    room: Room[Connection] | None = None
    user: KnownUser | None = None
    said: MessageEncoder | None = None  # encodes what this client says, once it has a pseudo
    returning: bool = False  # a known user back: their next room hears "est de retour"
    connected_at: float = field(default_factory=time.monotonic)
    last_heard: float = field(default_factory=time.monotonic)  # when it last sent anything
    pinged_at: float | None = None  # when the server sent a PING still unanswered
    flood_guard: FloodGuard | None = None
    leaving: bool = False
    departed: bool = False

    def send_frame(self, frame: Frame) -> None:
        """Encode and queue one frame for this client alone, after what its room sent it before."""
        if self.room is not None and self.room.broadcast.pending:
            self.room.broadcast.deliver()
        self.outbox.send(encode(frame))

    @property
    def name(self) -> str:
        """How the console logs name this client: its pseudo once known, else its address."""
        return f"{self.pseudo} ({self.address})" if self.pseudo else self.address


def deliver(connection: Connection, data: bytes, frames: int) -> None:
    """How a room's broadcast reaches one member, at the end of a loop turn: written out at once."""
    connection.outbox.send(data, frames)
    connection.outbox.flush()
