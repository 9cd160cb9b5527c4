"""What a chat server shares with other chat servers: nothing, when it stands alone.

The lobby, the relay and ``ChatServer`` reach beyond their own process only through these few
methods. ``StandAlone`` is the ordinary server's behaviour: users are judged against this
server's own list, the room list is this server's, and what a room hears stays here. A node of
a cluster (``chatlib.app.cluster``) implements the same methods with NATS, so the rest of the
server does not change to run as one.
"""

from __future__ import annotations

from collections.abc import Callable

from chatlib.app.protocol import RoomInfo
from chatlib.app.protocol.history import HistoryEntry
from chatlib.app.server.persistence import ServerStore
from chatlib.app.server.rooms import RoomRegistry
from chatlib.app.server.users import KnownUser, KnownUsers, Verdict

Admitted = tuple[Verdict, KnownUser | None, str]  # the verdict, the user (if known), the token to send


class StandAlone:
    """A server on its own: every decision is taken in this process, with what it knows."""

    async def start(self, rooms: RoomRegistry, store: ServerStore) -> None:  # type: ignore[type-arg]
        """Called by ``ChatServer.start`` before it listens: nothing to join."""

    async def stop(self) -> None:
        """Called by ``ChatServer.stop`` once every client is closed: nothing to leave."""

    async def admit(
        self, users: KnownUsers, pseudo: str, token: str, new_color: Callable[[], str], now_ms: int
    ) -> Admitted:
        """Judge a HELLO's pseudo and token; a pseudo nobody has becomes a new user (with a new token)."""
        verdict, user = users.judge(pseudo, token)
        if verdict is Verdict.NEW:
            user, token = users.register(pseudo, new_color(), now_ms)
        return verdict, user, token

    def room_listing(self, local: tuple[RoomInfo, ...]) -> tuple[RoomInfo, ...]:
        """The rooms to show a newcomer: this server's own."""
        return local

    def relayed(self, room: str, frame: bytes, entry: HistoryEntry) -> None:
        """A room of this server heard something (``frame``, recorded as ``entry``): nobody else to tell."""
