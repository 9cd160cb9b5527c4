"""The server's data on disk: where it lives, and JSON Lines files appended in the background.

A JSON Lines file holds one JSON object per line. Adding a record appends one line: nothing is
reread or rewritten, so saving costs the same for the millionth message as for the first. The
server never writes on its hot path: ``append`` only queues the line in memory, and ``flush``
(called every short interval and at shutdown) writes the queue in one go from a worker thread,
so a slow disk never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MAX_QUEUED_LINES = 100_000  # if the disk keeps failing, the oldest unsaved lines are dropped
WRITE_CHUNK_RECORDS = 256  # records encoded and written at a time by a flush


def default_data_dir() -> Path:
    """Where the server keeps history and known users: ``$XDG_DATA_HOME/chat_room``.

    That is ``~/.local/share/chat_room`` when XDG_DATA_HOME is not set.
    """
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "chat_room"


def prepare_data_dir(path: Path) -> Path:
    """Create the data folder (private to its owner) if needed; OSError if it cannot be written."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"{path} is not writable")
    return path


def read_json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Every JSON object in the file, in order; a missing file has none.

    Lines that are not a JSON object (such as the torn last line of a server that crashed while
    writing) are skipped with a warning: losing one line must not lose the whole file.
    """
    try:
        file = path.open("rb")
    except FileNotFoundError:
        return
    with file:
        for number, raw in enumerate(file, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                logger.warning("%s: line %d is not valid JSON (torn write?); skipped", path, number)
                continue
            if isinstance(record, dict):
                yield record
            else:
                logger.warning("%s: line %d is not a JSON object; skipped", path, number)


def _ends_without_newline(path: Path) -> bool:
    """Whether the file exists and its last byte is not a newline (a torn last line)."""
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            if file.tell() == 0:
                return False
            file.seek(-1, os.SEEK_END)
            return file.read(1) != b"\n"
    except FileNotFoundError:
        return False


def _append_records(path: Path, records: list[dict[str, Any]], start_on_new_line: bool) -> None:
    """Append records as whole JSON lines in one write, then fsync, creating the file for its owner only.

    Runs in a worker thread, so the JSON encoding is done off the event loop too. The fsync makes
    a flush survive a crash of the machine, not only of the server: after ``kill -9`` at most
    the records queued since the last flush are missing, and at worst the last line is torn
    (``read_json_lines`` skips it).
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with open(descriptor, "a", encoding="utf-8", errors="replace") as file:
        if start_on_new_line:
            file.write("\n")
        for start in range(0, len(records), WRITE_CHUNK_RECORDS):  # a chunk at a time: little extra memory
            chunk = records[start : start + WRITE_CHUNK_RECORDS]
            file.write(
                "".join(
                    json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n" for record in chunk
                )
            )
        file.flush()
        os.fsync(file.fileno())


class JsonLinesFile:
    """A JSON Lines file that records are appended to through an in-memory queue.

    Only one flush runs at a time; records appended while it writes wait for the next one.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queued: list[dict[str, Any]] = []
        self._flush_lock = asyncio.Lock()
        self._needs_newline = _ends_without_newline(path)

    def append(self, record: dict[str, Any]) -> None:
        """Queue one record for the next flush; no disk access here. The record must not change after."""
        self._queued.append(record)

    @property
    def queued(self) -> int:
        """How many records wait for the next flush."""
        return len(self._queued)

    async def flush(self) -> None:
        """Write every queued record at the end of the file, from a worker thread."""
        async with self._flush_lock:
            if not self._queued:
                return
            records, self._queued = self._queued, []
            try:
                # After a torn last line, start on a new line instead of gluing onto it.
                await asyncio.to_thread(_append_records, self.path, records, self._needs_newline)
            except OSError as error:
                logger.error("cannot save to %s (%s); will retry", self.path, error.strerror or error)
                self._queued[:0] = records
                del self._queued[:-MAX_QUEUED_LINES]
                return
            self._needs_newline = False
