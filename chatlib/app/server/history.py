"""The server's record of every room: recent entries in memory, every entry queued for the file.

``ChatHistory`` keeps each room's last entries to replay to whoever enters it, and hands each new
entry to the history file (JSON Lines, see ``storage``). The entries themselves and their JSON
are the protocol's (``chatlib.app.protocol.history``).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from typing import Any

from chatlib.app.protocol.history import BadHistory, HistoryEntry
from chatlib.app.protocol.names import name_key
from chatlib.app.server.storage import JsonLinesFile

logger = logging.getLogger(__name__)

DEFAULT_HISTORY_LENGTH = 50  # entries replayed to someone entering a room


class ChatHistory:
    """Every room's recent entries in memory, and every entry queued for the history file."""

    def __init__(self, length: int = DEFAULT_HISTORY_LENGTH, file: JsonLinesFile | None = None) -> None:
        if length < 0:
            raise ValueError(f"the history length must be 0 or more, not {length}")
        self.length = length
        self.file = file
        self._rooms: dict[str, deque[HistoryEntry]] = {}

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
            self._room(room).append(entry)
            used += 1
        return used

    def _room(self, room: str) -> deque[HistoryEntry]:
        key = name_key(room)
        entries = self._rooms.get(key)
        if entries is None:
            entries = self._rooms[key] = deque(maxlen=self.length)
        return entries

    def record(self, room: str, entry: HistoryEntry) -> None:
        """Add an entry to the room's history, in memory now and on disk at the next flush."""
        self._room(room).append(entry)
        if self.file is not None:
            self.file.append(entry.to_json(room))

    def recent(self, room: str) -> list[HistoryEntry]:
        """The room's last entries (at most ``length``), oldest first."""
        return list(self._rooms.get(name_key(room), ()))
