"""The server's record of every room: recent entries in memory, every entry queued for the file.

``ChatHistory`` keeps each room's last entries to replay to whoever enters it, and hands each new
entry to the history file (JSON Lines, see ``storage``). The entries themselves and their JSON
are the protocol's (``chatlib.app.protocol.history``).

What it keeps in memory is bounded whatever clients do: each room keeps its last ``length``
entries and at most ``MAX_ROOM_TEXT_BYTES`` of their text; the rooms in use keep theirs, and of
the rooms nobody is in (emptied, or read back from the file) only the ``MAX_IDLE_ROOMS`` used
last keep theirs. The file keeps everything.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from json.encoder import encode_basestring
from typing import Any

import orjson

from chatlib.app.protocol.history import BadHistory, HistoryEntry
from chatlib.app.protocol.names import name_key
from chatlib.app.server.storage import JsonLinesFile

logger = logging.getLogger(__name__)

DEFAULT_HISTORY_LENGTH = 50  # entries replayed to someone entering a room
MAX_ROOM_TEXT_BYTES = 64 * 1024  # of text kept per room: 50 ordinary messages, or 16 of 4 KB
MAX_IDLE_ROOMS = 100  # rooms nobody is in whose history stays in memory, the last used ones
_TIME_MARK = 987_654_321_987_654_321  # no message's time: where a line's time goes, in a cached line


class _RoomEntries:
    """One room's last entries (at least one), and the size of their texts."""

    __slots__ = ("entries", "length", "text_bytes")

    def __init__(self, length: int) -> None:
        self.entries: deque[HistoryEntry] = deque()
        self.length = length
        self.text_bytes = 0

    def append(self, entry: HistoryEntry) -> None:
        """Add an entry, forgetting the oldest ones beyond the room's length or text size."""
        entries = self.entries
        entries.append(entry)
        self.text_bytes += len(entry.text)
        if len(entries) > self.length:
            self.text_bytes -= len(entries.popleft().text)
        while self.text_bytes > MAX_ROOM_TEXT_BYTES and len(entries) > 1:
            self.text_bytes -= len(entries.popleft().text)


class ChatHistory:
    """Every room's recent entries in memory (within bounds), and every entry queued for the file.

    The server says which rooms are in use (``keep``, when one is created, and for the permanent
    ones) and which are no longer (``release``, when the last member leaves).
    """

    def __init__(self, length: int = DEFAULT_HISTORY_LENGTH, file: JsonLinesFile | None = None) -> None:
        if length < 0:
            raise ValueError(f"the history length must be 0 or more, not {length}")
        self.length = length
        self.file = file
        self._rooms: dict[str, _RoomEntries] = {}
        self._keys: dict[str, str] = {}  # name_key of the room names seen lately: computed once each
        self._in_use: set[str] = set()  # keys of the rooms that exist
        self._idle: dict[str, None] = {}  # keys of the other rooms kept in memory, least recently used first
        self._line_starts: dict[tuple[str, str, str], tuple[str, str]] = {}  # see _line_start

    def load(self, records: Iterable[dict[str, Any]]) -> int:
        """Take in the records of a history file (without writing them again); how many were used."""
        used = 0
        for record in records:
            room = record.get("room")
            try:
                if not isinstance(room, str):
                    raise BadHistory("no room name")
                entry = HistoryEntry.from_json(record)
            except BadHistory as error:
                logger.warning("skipping a history record: %s", error)
                continue
            if self.length:
                self._room(room).append(entry)
            used += 1
        return used

    def _key(self, room: str) -> str:
        """The room's ``name_key``, from the cache (at every message, it would cost more than the rest)."""
        key = self._keys.get(room)
        if key is None:
            if len(self._keys) >= 4 * MAX_IDLE_ROOMS:
                self._keys.clear()
            key = self._keys[room] = name_key(room)
        return key

    def _room(self, room: str) -> _RoomEntries:
        """The room's entries; a room not in use becomes the most recently used idle one."""
        key = self._key(room)
        entries = self._rooms.get(key)
        if entries is None:
            entries = self._rooms[key] = _RoomEntries(self.length)
        if key not in self._in_use:
            self._idle.pop(key, None)
            self._idle[key] = None
            if len(self._idle) > MAX_IDLE_ROOMS:
                oldest = next(iter(self._idle))
                del self._idle[oldest], self._rooms[oldest]
        return entries

    def keep(self, room: str) -> None:
        """The room exists (it was created, or it is permanent): keep its history while it does."""
        key = self._key(room)
        self._in_use.add(key)
        self._idle.pop(key, None)

    def release(self, room: str) -> None:
        """The room is gone: its history becomes idle, kept in memory while it is among the last used."""
        key = self._key(room)
        self._in_use.discard(key)
        if key in self._rooms:
            self._room(room)

    def record(self, room: str, entry: HistoryEntry) -> None:
        """Add an entry to the room's history, in memory now and on disk at the next flush."""
        if self.length:
            self._room(room).append(entry)
        if self.file is not None:
            self.file.append(entry.to_json(room))

    def record_messages(self, room: str, time_ms: int, pseudo: str, color: str, texts: list[str]) -> None:
        """Record what one user said at ``time_ms``, as ``record`` would each message, at less cost:
        only the last ``length`` become entries in memory, and the file's lines share their start."""
        if self.length:
            entries = self._room(room)
            for text in texts[-self.length :]:
                entries.append(HistoryEntry.message(time_ms, pseudo, color, text))
        if self.file is not None:
            start = self._line_start(room, time_ms, pseudo, color)  # each line: this, the text in JSON, "}"
            # encode_basestring writes a JSON string as orjson does (tested), a call costing far less
            lines = start + ("}\n" + start).join(map(encode_basestring, texts)) + "}\n"
            self.file.append_lines(lines.encode(), len(texts))

    def _line_start(self, room: str, time_ms: int, pseudo: str, color: str) -> str:
        """A message's line in the history file up to its text: the JSON of its entry (``to_json``),
        cut before the text. Made once for each sender and room, its time put in each time."""
        key = (room, pseudo, color)
        around_time = self._line_starts.get(key)
        if around_time is None:
            if len(self._line_starts) >= 4 * MAX_IDLE_ROOMS:
                self._line_starts.clear()
            line = orjson.dumps(HistoryEntry.message(_TIME_MARK, pseudo, color, "").to_json(room)).decode()
            start = line.removesuffix('""}')
            assert start.endswith('"text":'), "the text must come last in a history line"
            before, after = start.split(str(_TIME_MARK))
            around_time = self._line_starts[key] = (before, after)
        return around_time[0] + str(time_ms) + around_time[1]

    def recent(self, room: str) -> list[HistoryEntry]:
        """The room's last entries (at most ``length``), oldest first."""
        entries = self._rooms.get(self._key(room))
        return list(entries.entries) if entries is not None else []

    def __len__(self) -> int:
        """How many rooms' histories are in memory."""
        return len(self._rooms)
