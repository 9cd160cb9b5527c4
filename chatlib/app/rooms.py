"""The chat rooms: who is in each, created on first entry and gone when the last one leaves."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

from chatlib.app.names import name_key
from chatlib.app.protocol import MAX_ROOMS_LISTED, RoomInfo

Member = TypeVar("Member")


class Room(Generic[Member]):
    """One room: its name as first given, and the members to relay its messages to."""

    def __init__(self, name: str, permanent: bool = False) -> None:
        self.name = name
        self.permanent = permanent
        self.members: set[Member] = set()

    def __repr__(self) -> str:
        return f"Room({self.name!r}, {len(self.members)} members)"


class RoomRegistry(Generic[Member]):
    """Every room of a server, found by name ignoring case.

    Permanent rooms are always listed, even empty; the others disappear with their last member.
    """

    def __init__(self, permanent_rooms: Iterable[str] = ()) -> None:
        self._rooms: dict[str, Room[Member]] = {}
        for name in permanent_rooms:
            self._rooms[name_key(name)] = Room(name, permanent=True)

    def enter(self, name: str, member: Member) -> Room[Member]:
        """Put ``member`` in the room called ``name``, creating it if needed, and return the room."""
        room = self._rooms.setdefault(name_key(name), Room(name))
        room.members.add(member)
        return room

    def leave(self, room: Room[Member], member: Member) -> None:
        """Take ``member`` out of ``room``, removing the room if it is now empty and not permanent."""
        room.members.discard(member)
        if not room.members and not room.permanent:
            self._rooms.pop(name_key(room.name), None)

    def listing(self) -> tuple[RoomInfo, ...]:
        """The rooms and their sizes for a ROOMS frame: permanent first, then the busiest."""
        rooms = sorted(
            self._rooms.values(),
            key=lambda room: (not room.permanent, -len(room.members), name_key(room.name)),
        )
        return tuple(RoomInfo(room.name, min(len(room.members), 0xFFFF)) for room in rooms[:MAX_ROOMS_LISTED])

    def __len__(self) -> int:
        return len(self._rooms)
