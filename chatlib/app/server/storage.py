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
import errno
import logging
import os
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, BinaryIO

import orjson

logger = logging.getLogger(__name__)

MAX_QUEUED_BYTES = 16 * 1024 * 1024  # if the disk keeps failing, the oldest unsaved lines are dropped
EARLY_FLUSH_BYTES = 4 * 1024 * 1024  # this much waiting starts a flush without waiting for the next round
MAX_LINE_BYTES = 1024 * 1024  # a longer line in a data file is damage: skipped as it is read


def default_data_dir() -> Path:
    """Where the server keeps history and known users: ``$XDG_DATA_HOME/chat_room``.

    That is ``~/.local/share/chat_room`` when XDG_DATA_HOME is not set.
    """
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "chat_room"


def prepare_data_dir(path: Path) -> Path:
    """Create the data folder (private to its owner) if needed; OSError if it cannot be written."""
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "it is a file, not a folder")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"{path} is not writable")
    return path


class DataFileError(OSError):
    """A data file that cannot be used at all: a folder in its place, or no permission to read it."""


def check_data_file(path: Path) -> None:
    """DataFileError unless ``path`` is absent (it will be created) or a file we may read and append to."""
    if path.is_dir():
        raise DataFileError(f"{path.name} in {path.parent} is a folder, not a file")
    if path.exists() and not path.is_file():
        raise DataFileError(f"{path.name} in {path.parent} is not a regular file")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise DataFileError(f"{path.name} in {path.parent} cannot be read and written: permission denied")


def read_json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Every JSON object in the file, in order; a missing file has none.

    Lines that are not a flat JSON object (the server writes no nested values), such as the
    torn last line of a server that crashed while writing, or garbage, are skipped with a
    warning: losing one line must not lose the whole file. So are lines over
    ``MAX_LINE_BYTES``, which are never held whole in memory. Raises DataFileError when the
    file cannot be read at all.
    """
    try:
        file = path.open("rb")
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise DataFileError(f"{path.name} in {path.parent} is a folder, not a file") from None
    except OSError as error:
        raise DataFileError(f"cannot read {path}: {error.strerror or error}") from None
    with file:
        for number, raw in enumerate(_bounded_lines(file), start=1):
            if raw is None:
                logger.warning("%s: line %d is over %d bytes; skipped", path, number, MAX_LINE_BYTES)
                continue
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)  # nesting deeper than 1024 is a ValueError, never a RecursionError
            except ValueError:
                logger.warning("%s: line %d is not valid JSON (torn write?); skipped", path, number)
                continue
            if isinstance(record, dict) and not any(
                isinstance(value, (dict, list)) for value in record.values()
            ):
                yield record
            else:
                logger.warning("%s: line %d is not a flat JSON object; skipped", path, number)


def _bounded_lines(file: BinaryIO) -> Iterator[bytes | None]:
    """Each line of the file, or None for a line over ``MAX_LINE_BYTES`` (read past, not kept)."""
    while line := file.readline(MAX_LINE_BYTES + 1):
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield line
            continue
        while (rest := file.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
            pass
        yield None


def _ends_without_newline(path: Path) -> bool:
    """Whether the file exists and its last byte is not a newline (a torn last line)."""
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            if file.tell() == 0:
                return False
            file.seek(-1, os.SEEK_END)
            return file.read(1) != b"\n"
    except (FileNotFoundError, IsADirectoryError):
        return False


def _append(path: Path, data: bytearray) -> tuple[int, OSError | None]:
    """Append ``data`` at the end of the file, then fsync; return how many bytes were written, and
    the error that stopped the write, if one did.

    Runs in a worker thread. It writes with ``os.write`` until every byte is in, so that after
    a failure (a full disk, a file-size limit) it knows exactly where the file stops, and the
    next try can go on from there: a line is never written twice. The fsync makes a flush
    survive a crash of the machine, not only of the server: after ``kill -9`` at most the lines
    queued since the last flush are missing, and at worst the last line is torn
    (``read_json_lines`` skips it). The file is created for its owner only.
    """
    written = 0
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as error:
        return 0, error
    try:
        with memoryview(data) as view:
            while written < len(view):
                written += os.write(descriptor, view[written:])
        os.fsync(descriptor)
    except OSError as error:
        return written, error
    finally:
        os.close(descriptor)
    return written, None


class JsonLinesFile:
    """A JSON Lines file that records are appended to through an in-memory buffer.

    The lines wait in one ``bytearray`` rather than as an object each: compact, and nothing
    for the garbage collector to walk. Under a heavy load, once ``EARLY_FLUSH_BYTES`` wait, a
    flush starts at once, so that the buffer stays small whatever the rate. Only one flush runs
    at a time; records appended while it writes wait for the next one.
    """

    def __init__(self, path: Path, writer_thread: Executor | None = None) -> None:
        self.path = path
        self._writer_thread = writer_thread  # None: asyncio's default executor
        self._pending = bytearray()  # encoded lines, each with its newline
        self._pending_lines = 0
        self._flush_lock = asyncio.Lock()
        self._early_flush: asyncio.Task[None] | None = None
        self._torn = _ends_without_newline(path)  # the file ends in the middle of a line
        self._pending_continues = False  # _pending starts with what must follow the file's last byte

    def append(self, record: dict[str, Any]) -> None:
        """Encode one record as a line and queue it for the next flush; no disk access here."""
        self.append_lines(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE), 1)

    def append_lines(self, lines: bytes, count: int) -> None:
        """Queue ``count`` lines encoded already (each a JSON object ending with a newline)."""
        self._pending += lines
        self._pending_lines += count
        if len(self._pending) >= EARLY_FLUSH_BYTES and (
            self._early_flush is None or self._early_flush.done()
        ):
            self._early_flush = asyncio.get_running_loop().create_task(self.flush(), name="early flush")

    @property
    def queued(self) -> int:
        """How many records wait for the next flush."""
        return self._pending_lines

    async def flush(self) -> None:
        """Write every queued record at the end of the file, from a worker thread.

        If the write stops short (a full disk), what was written stays written and the rest
        waits, ahead of the newer records, for the next flush to go on from the exact byte
        where this one stopped.
        """
        async with self._flush_lock:
            if not self._pending:
                return
            lines, self._pending, self._pending_lines = self._pending, bytearray(), 0
            if self._torn and not self._pending_continues:
                lines[:0] = b"\n"  # end a torn last line instead of gluing ours onto it
            loop = asyncio.get_running_loop()
            written, error = await loop.run_in_executor(self._writer_thread, _append, self.path, lines)
            if written:
                self._torn = lines[written - 1] != ord("\n")
            self._pending_continues = written < len(lines)
            if self._pending_continues:
                self._pending[:0] = lines[written:]
                self._drop_oldest_beyond(MAX_QUEUED_BYTES)
                self._pending_lines = self._pending.count(b"\n")
            if error is not None:
                saved = f"{written} of {len(lines)} bytes saved" if written else "nothing saved"
                logger.error(
                    "cannot save to %s (%s): %s, the rest waits for the next try",
                    self.path,
                    error.strerror or error,
                    saved,
                )

    def _drop_oldest_beyond(self, max_bytes: int) -> None:
        """Keep at most ``max_bytes`` of the newest whole lines (the next write then starts a new line)."""
        excess = len(self._pending) - max_bytes
        if excess > 0:
            del self._pending[: self._pending.index(b"\n", excess - 1) + 1]
            self._pending_continues = False
