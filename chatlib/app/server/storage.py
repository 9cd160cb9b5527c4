"""The server's data on disk: where it lives, and JSON Lines files appended in the background.

A JSON Lines file holds one JSON object per line. Adding a record appends one line: nothing is
reread or rewritten, so saving costs the same for the millionth message as for the first. The
server never writes on its hot path: ``append`` only encodes the line (with orjson, a fraction
of a microsecond) and adds it to one buffer in memory, and ``flush`` (called every short interval and at
shutdown) writes the queue in one go from a worker thread, so a slow disk never stalls the
event loop, and the thread has no encoding to do while holding the interpreter.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

logger = logging.getLogger(__name__)

MAX_QUEUED_BYTES = 16 * 1024 * 1024  # if the disk keeps failing, the oldest unsaved lines are dropped
EARLY_FLUSH_BYTES = 4 * 1024 * 1024  # this much waiting starts a flush without waiting for the next round


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


def _append_lines(path: Path, lines: bytearray, start_on_new_line: bool) -> None:
    """Append encoded lines at the end of the file, then fsync, creating the file for its owner only.

    Runs in a worker thread. The fsync makes a flush survive a crash of the machine, not only of
    the server: after ``kill -9`` at most the lines queued since the last flush are missing, and
    at worst the last line is torn (``read_json_lines`` skips it).
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with open(descriptor, "ab") as file:
        if start_on_new_line:
            file.write(b"\n")
        file.write(lines)
        file.flush()
        os.fsync(file.fileno())


class JsonLinesFile:
    """A JSON Lines file that records are appended to through an in-memory buffer.

    The lines wait in one ``bytearray`` rather than as an object each: compact, and nothing
    for the garbage collector to walk. Under a heavy load, once ``EARLY_FLUSH_BYTES`` wait, a
    flush starts at once, so that the buffer stays small whatever the rate. Only one flush runs
    at a time; records appended while it writes wait for the next one.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pending = bytearray()  # encoded lines, each with its newline
        self._pending_lines = 0
        self._flush_lock = asyncio.Lock()
        self._early_flush: asyncio.Task[None] | None = None
        self._needs_newline = _ends_without_newline(path)

    def append(self, record: dict[str, Any]) -> None:
        """Encode one record as a line and queue it for the next flush; no disk access here."""
        self._pending += orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        self._pending_lines += 1
        if len(self._pending) >= EARLY_FLUSH_BYTES and (
            self._early_flush is None or self._early_flush.done()
        ):
            self._early_flush = asyncio.get_running_loop().create_task(self.flush(), name="early flush")

    @property
    def queued(self) -> int:
        """How many records wait for the next flush."""
        return self._pending_lines

    async def flush(self) -> None:
        """Write every queued record at the end of the file, from a worker thread."""
        async with self._flush_lock:
            if not self._pending:
                return
            lines, self._pending, self._pending_lines = self._pending, bytearray(), 0
            try:
                # After a torn last line, start on a new line instead of gluing onto it.
                await asyncio.to_thread(_append_lines, self.path, lines, self._needs_newline)
            except OSError as error:
                logger.error("cannot save to %s (%s); will retry", self.path, error.strerror or error)
                self._pending[:0] = lines
                self._drop_oldest_beyond(MAX_QUEUED_BYTES)
                self._pending_lines = self._pending.count(b"\n")
                return
            self._needs_newline = False

    def _drop_oldest_beyond(self, max_bytes: int) -> None:
        """Keep at most ``max_bytes`` of the newest whole lines."""
        excess = len(self._pending) - max_bytes
        if excess > 0:
            del self._pending[: self._pending.index(b"\n", excess - 1) + 1]
