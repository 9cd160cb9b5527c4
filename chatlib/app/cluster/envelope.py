"""What nodes send each other, as bytes and back (sans-IO): room batches and node states.

A **room batch** is what one room heard on one node during a short while: the frames, already
encoded for the wire, and the history entries that go with them. It is numbered per node
(``origin``, ``number``), so that a node that meets the same batch twice (live, then in the
stream) takes it once. Live, on ``chat.room.<room>``, it is one line of JSON (the room, the
numbering, the entries) then the frames, which a receiving node hands its members unchanged::

    {"room":"general","origin":"4f1c","number":17,"frames":2,"entries":[{...},{...}]}\\n<frames>

In the history stream, on ``chat.history.<room>``, it is the JSON line alone.

A **node state** is a node's rooms with the pseudos in each, and the ids of its users, as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from chatlib.app.protocol.history import BadHistory, HistoryEntry


class BadEnvelope(ValueError):
    """Bytes from another node that are not a batch or a state."""


@dataclass
class RoomBatch:
    """What one room heard on one node: its frames (joined) and its history entries, in order."""

    room: str
    origin: str = ""
    number: int = 0
    frames: list[bytes] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0  # bytes of frames

    @property
    def batch_id(self) -> str:
        """The batch's name in JetStream (its Nats-Msg-Id: a batch sent twice is stored once)."""
        return f"{self.origin}-{self.number}"

    def add(self, frame: bytes, entry: HistoryEntry) -> None:
        """One more frame and its history entry."""
        self.frames.append(frame)
        self.entries.append(entry.to_json())
        self.size += len(frame)

    def _head(self) -> dict[str, Any]:
        return {"room": self.room, "origin": self.origin, "number": self.number, "frames": len(self.frames),
                "entries": self.entries}

    def live_bytes(self) -> bytes:
        """The batch as published live: the JSON line, then the frames."""
        return orjson.dumps(self._head()) + b"\n" + b"".join(self.frames)

    def history_bytes(self) -> bytes:
        """The batch as stored in the history stream: the JSON line alone (no frames, no pictures)."""
        return orjson.dumps(self._head())


@dataclass(frozen=True)
class ReceivedBatch:
    """A batch from another node: where it belongs, who sent it, its frames and decoded entries."""

    room: str
    origin: str
    number: int
    frames: bytes
    frame_count: int
    entries: tuple[HistoryEntry, ...]


def _head(line: bytes) -> dict[str, Any]:
    try:
        head = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise BadEnvelope(f"not JSON: {error}") from None
    if not isinstance(head, dict):
        raise BadEnvelope("not a JSON object")
    return head


def decode_batch(data: bytes) -> ReceivedBatch:
    """A batch from its live bytes (JSON line and frames) or its history bytes (the line alone)."""
    line, _, frames = data.partition(b"\n")
    head = _head(line)
    room, origin, number, count = head.get("room"), head.get("origin"), head.get("number"), head.get("frames")
    entries = head.get("entries")
    if not (isinstance(room, str) and isinstance(origin, str) and isinstance(entries, list)):
        raise BadEnvelope("a batch needs a room, an origin and entries")
    if not (isinstance(number, int) and isinstance(count, int)) or isinstance(number, bool):
        raise BadEnvelope("a batch needs a number and a frame count")
    try:
        decoded = tuple(HistoryEntry.from_json(entry) for entry in entries)
    except BadHistory as error:
        raise BadEnvelope(f"bad history entry: {error}") from None
    return ReceivedBatch(room, origin, number, frames, count, decoded)


@dataclass(frozen=True)
class NodeState:
    """A node as the others see it: its rooms with their members' pseudos, and its users' ids."""

    node: str
    rooms: dict[str, list[str]]
    users: frozenset[str]
    gone: bool = False  # the node is leaving on purpose (its clients were told, its rooms heard it)

    def to_bytes(self) -> bytes:
        """The state as published on ``chat.node.<node>.state``."""
        return orjson.dumps(
            {"node": self.node, "rooms": self.rooms, "users": sorted(self.users), "gone": self.gone}
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> NodeState:
        """A state from its bytes; BadEnvelope if they are not one."""
        head = _head(data)
        node, rooms, users = head.get("node"), head.get("rooms"), head.get("users")
        if not (isinstance(node, str) and isinstance(rooms, dict) and isinstance(users, list)):
            raise BadEnvelope("a state needs a node, rooms and users")
        members = {
            str(name): [str(pseudo) for pseudo in pseudos]
            for name, pseudos in rooms.items()
            if isinstance(pseudos, list)
        }
        return cls(node, members, frozenset(str(user) for user in users), bool(head.get("gone", False)))


class BatchLedger:
    """Which batch numbers of each node were taken already, so that a batch met twice is taken once.

    Batches usually come in order, but after a reconnection the stream also brings older ones
    that were missed live: so the ledger keeps the numbers themselves, the most recent
    ``window`` of each node (older ones count as taken).
    """

    def __init__(self, window: int = 4096) -> None:
        self._window = window
        self._taken: dict[str, set[int]] = {}
        self._floor: dict[str, int] = {}  # every number up to this one counts as taken

    def take(self, origin: str, number: int) -> bool:
        """Mark a batch as taken; False if it was taken before."""
        if number <= self._floor.get(origin, 0):
            return False
        taken = self._taken.setdefault(origin, set())
        if number in taken:
            return False
        taken.add(number)
        if len(taken) > self._window:
            oldest = sorted(taken)[: len(taken) // 2]
            taken.difference_update(oldest)
            self._floor[origin] = oldest[-1]
        return True
