"""Each room's conversation history: recorded as JSON, replayed to whoever enters the room.

The entries and their JSON forms are pure data (no I/O), shared by the server that writes them
and the client that reads a HISTORY frame. The server's record of every room is
``chatlib.app.server.history.ChatHistory``.

One entry, as JSON (``pseudo`` and ``color`` only for messages and images; ``format``,
``width``, ``height`` and ``bytes`` only for images, whose ``text`` is a short placeholder)::

    {"kind": "message", "time_ms": 1700000000000, "pseudo": "bob", "color": "#1f77b4", "text": "salut"}

A line of the history file is an entry plus ``"room": "<name>"``. A HISTORY frame's payload is
``{"room": "<name>", "entries": [<entry>, ...]}``, oldest first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from chatlib.app.protocol import MAX_HISTORY_BYTES

EntryKind = Literal["message", "announce", "image"]
ENTRY_KINDS: tuple[EntryKind, ...] = ("message", "announce", "image")
_COLOR_PATTERN = re.compile(r"#[0-9a-f]{6}")


class BadHistory(ValueError):
    """A HISTORY payload or a history record that does not follow the schema."""


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What the history keeps of an image: not its pixels, only what it was."""

    format: str  # "PNG" or "JPEG"
    width: int
    height: int
    size: int  # bytes

    def placeholder(self) -> str:
        """The short text standing for the image in the history."""
        return f"[image {self.format} {self.width}×{self.height}]"


class HistoryEntry(NamedTuple):
    """One event of a room's conversation: a message, an announcement or an image.

    A NamedTuple (immutable, like a frozen dataclass, and quicker to make: the server records
    one for every message it relays).
    """

    kind: EntryKind
    time_ms: int
    text: str
    pseudo: str = ""
    color: str = ""
    image: ImageFacts | None = None

    @classmethod
    def message(cls, time_ms: int, pseudo: str, color: str, text: str) -> HistoryEntry:
        """Someone said something."""
        return cls("message", time_ms, text, pseudo, color)

    @classmethod
    def announcement(cls, time_ms: int, text: str) -> HistoryEntry:
        """The server told the room something (an arrival, a departure)."""
        return cls("announce", time_ms, text)

    @classmethod
    def image_sent(cls, time_ms: int, pseudo: str, color: str, facts: ImageFacts) -> HistoryEntry:
        """Someone sent an image; the history keeps a placeholder."""
        return cls("image", time_ms, facts.placeholder(), pseudo, color, facts)

    def to_json(self, room: str | None = None) -> dict[str, Any]:
        """The entry as a JSON object; with ``room``, as a line of the history file (room first)."""
        record: dict[str, Any] = {} if room is None else {"room": room}
        record["kind"] = self.kind
        record["time_ms"] = self.time_ms
        if self.kind != "announce":
            record["pseudo"] = self.pseudo
            record["color"] = self.color
        record["text"] = self.text
        if self.image is not None:
            record |= {
                "format": self.image.format,
                "width": self.image.width,
                "height": self.image.height,
                "bytes": self.image.size,
            }
        return record

    @classmethod
    def from_json(cls, record: Any) -> HistoryEntry:
        """An entry from its JSON object, every field checked; BadHistory if it is not one."""
        if not isinstance(record, dict):
            raise BadHistory("an entry is not a JSON object")
        kind = record.get("kind")
        if kind not in ENTRY_KINDS:
            raise BadHistory(f"unknown entry kind {kind!r}")
        time_ms = _field(record, "time_ms", int)
        text = _field(record, "text", str)
        if kind == "announce":
            return cls.announcement(time_ms, text)
        pseudo = _field(record, "pseudo", str)
        color = _field(record, "color", str)
        if not _COLOR_PATTERN.fullmatch(color):
            raise BadHistory(f"color {color!r} is not #rrggbb")
        if kind == "message":
            return cls.message(time_ms, pseudo, color, text)
        facts = ImageFacts(
            _field(record, "format", str),
            _field(record, "width", int),
            _field(record, "height", int),
            _field(record, "bytes", int),
        )
        return cls("image", time_ms, text, pseudo, color, facts)


def _field(record: dict[str, Any], name: str, kind: type[int] | type[str]) -> Any:
    """``record[name]``, checked to be of the given JSON type (a bool is not an int here)."""
    value = record.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadHistory(f"field {name!r} is missing or not a {kind.__name__}")
    if kind is int and value < 0:
        raise BadHistory(f"field {name!r} is negative")
    return value


# --- The HISTORY frame's payload ---------------------------------------------------------------


def history_payload(room: str, entries: Iterable[HistoryEntry], max_bytes: int = MAX_HISTORY_BYTES) -> str:
    """The JSON text of a HISTORY frame: the room and its entries, oldest first.

    If the entries do not all fit in ``max_bytes`` of UTF-8, the oldest are left out.
    """
    encoded = [json.dumps(entry.to_json(), ensure_ascii=False, separators=(",", ":")) for entry in entries]
    head = json.dumps({"room": room}, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"entries":['
    budget = max_bytes - len(head.encode("utf-8")) - len("]}")
    kept: list[str] = []
    for text in reversed(encoded):
        cost = len(text.encode("utf-8")) + (1 if kept else 0)  # the comma between entries
        if cost > budget:
            break
        budget -= cost
        kept.append(text)
    return head + ",".join(reversed(kept)) + "]}"


@dataclass(frozen=True, slots=True)
class RoomHistory:
    """A decoded HISTORY payload: the room it is about and its entries, oldest first."""

    room: str
    entries: tuple[HistoryEntry, ...]


def parse_history(payload: str) -> RoomHistory:
    """Decode and check a HISTORY frame's JSON text (a client must not trust it blindly)."""
    try:
        document = json.loads(payload)
    except ValueError as error:
        raise BadHistory(f"the history is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise BadHistory("the history is not a JSON object")
    room = document.get("room")
    entries = document.get("entries")
    if not isinstance(room, str) or not isinstance(entries, list):
        raise BadHistory("the history needs a 'room' string and an 'entries' list")
    return RoomHistory(room, tuple(HistoryEntry.from_json(entry) for entry in entries))
