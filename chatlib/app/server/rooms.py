"""The chat rooms: who is in each, created on first entry and gone when the last one leaves."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from chatlib.app.protocol import MAX_ROOMS_LISTED, RoomInfo
from chatlib.app.protocol.names import name_key
from chatlib.app.server.broadcast import Broadcast, Deliver

Member = TypeVar("Member")


class Room(Generic[Member]):
    """One room: its name as first given, its members, and what it relays to them (``broadcast``)."""

    def __init__(self, name: str, deliver: Deliver[Member], permanent: bool = False) -> None:
        self.name = name
        self.permanent = permanent
        self.members: set[Member] = set()
        self.broadcast = Broadcast(self.members, deliver)

    def __repr__(self) -> str:
        return f"Room({self.name!r}, {len(self.members)} members)"


class RoomRegistry(Generic[Member]):
    """Every room of a server, found by name ignoring case.

    Permanent rooms are always listed, even empty; the others disappear with their last member.
    What a room broadcasts goes to its members through ``deliver``: a newcomer never gets what
    was said before it came in, and one leaving gets everything said while it was there.
    """

    def __init__(self, deliver: Deliver[Member], permanent_rooms: Iterable[str] = ()) -> None:
        self._deliver = deliver
        self._rooms: dict[str, Room[Member]] = {}
        self._listing: tuple[RoomInfo, ...] | None = None  # made again after a change, when asked
        for name in permanent_rooms:
            self._rooms[name_key(name)] = Room(name, deliver, permanent=True)

    def enter(self, name: str, member: Member) -> Room[Member]:
        """Put ``member`` in the room called ``name``, creating it if needed, and return the room."""
        key = name_key(name)
        room = self._rooms.get(key)
        if room is None:
            room = self._rooms[key] = Room(name, self._deliver)
        room.broadcast.welcome(member)  # it gets only what is sent from now on
        room.members.add(member)
        self._listing = None
        return room

    def leave(self, room: Room[Member], member: Member) -> None:
        """Take ``member`` out of ``room``, removing the room if it is now empty and not permanent."""
        room.broadcast.catch_up(member)  # it gets what was sent while it was there, now
        room.members.discard(member)
        self._listing = None
        if not room.members and not room.permanent:
            self._rooms.pop(name_key(room.name), None)

    def find(self, name: str) -> Room[Member] | None:
        """The room called ``name`` (ignoring case), if it exists on this server."""
        return self._rooms.get(name_key(name))

    def deliver_pending(self) -> None:
        """Deliver what every room has queued (before the server closes its connections)."""
        for room in self._rooms.values():
            room.broadcast.deliver()

    def listing(self) -> tuple[RoomInfo, ...]:
        """The rooms and their sizes for a ROOMS frame: permanent first, then the busiest.

        Sorted once after each change, not for every newcomer: a flood of HELLOs costs no sort.
        """
        if self._listing is None:
            rooms = sorted(
                self._rooms.values(),
                key=lambda room: (not room.permanent, -len(room.members), name_key(room.name)),
            )
            self._listing = tuple(
                RoomInfo(room.name, min(len(room.members), 0xFFFF)) for room in rooms[:MAX_ROOMS_LISTED]
            )
        return self._listing

    def __len__(self) -> int:
        return len(self._rooms)

    def __iter__(self) -> Iterator[Room[Member]]:
        return iter(list(self._rooms.values()))
