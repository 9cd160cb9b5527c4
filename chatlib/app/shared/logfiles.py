"""The chat's conversation log files: where they go, and a log that appends one dated line per event.

The spec puts them in ``/var/log/chat_room``; a student's laptop rarely lets an ordinary user
write there, so the programs fall back to a per-user folder and say where they went. A
conversation is nobody else's business: the files are readable and writable by their owner only.
"""

from __future__ import annotations

import asyncio
import atexit
import getpass
import logging
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Literal, TextIO

from chatlib.app.shared.terminal_text import printable

DEFAULT_LOG_DIR = Path("/var/log/chat_room")
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
PRIVATE_FILE_MODE = 0o600  # read and written by its owner only, like the client's token file
DEFAULT_FLUSH_DELAY = 0.5  # seconds a logged line may wait in memory before reaching the file
EARLY_FLUSH_CHARACTERS = 1024 * 1024  # this much waiting is written at once (memory stays small)

LogKind = Literal["server", "client"]

logger = logging.getLogger(__name__)


def user_log_dir() -> Path:
    """The per-user fallback: ``$XDG_STATE_HOME/chat_room/log`` (``~/.local/state/chat_room/log``)."""
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "chat_room" / "log"


def last_resort_log_dir() -> Path:
    """A folder in the system's temporary directory, for when even the home folder is read-only."""
    return Path(tempfile.gettempdir()) / f"chat_room-{getpass.getuser()}"


def is_writable_dir(path: Path) -> bool:
    """Create ``path`` if needed and check that a file can really be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError:
        return False
    return True


def can_append_to(path: Path) -> bool:
    """Whether this program can append to the file ``path`` (creating it, private, if need be).

    In a folder shared by several people (``/var/log/chat_room``), another person's private log
    file of the same name cannot be.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE_MODE))
    except OSError:
        return False
    return True


def choose_log_dir(
    preferred: Path | None, system_dir: Path = DEFAULT_LOG_DIR, file_name: str | None = None
) -> Path:
    """The first usable folder of: ``preferred``, ``system_dir``, the per-user folder, a temp folder.

    A folder is usable if a file can be written in it, and, given a ``file_name``, if that file
    can be appended to. The caller should tell the user where the logs went, since it may not be
    where they asked.
    """
    candidates = [preferred] if preferred is not None else []
    candidates += [system_dir, user_log_dir()]
    for candidate in candidates:
        if is_writable_dir(candidate) and (file_name is None or can_append_to(candidate / file_name)):
            return candidate
    return last_resort_log_dir()


def open_private(path: Path) -> TextIO:
    """``path`` opened for appending text, readable and writable by its owner only.

    A file left readable by others (by an earlier version of the course) is made private too,
    when this user owns it.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(descriptor).st_mode) & ~PRIVATE_FILE_MODE and hasattr(os, "fchmod"):
            os.fchmod(descriptor, PRIVATE_FILE_MODE)
    except OSError:
        pass  # someone else's file, shared on purpose: leave its mode alone
    return open(descriptor, "a", encoding="utf-8")


class ConversationLog:
    """A conversation log file: one dated, terminal-safe line per event, appended in batches.

    A busy server logs every message it relays. Through ``logging`` each line would cost a
    LogRecord, a look at the caller's stack frame and a flush of the file: most of the server's
    CPU under load (see docs/BENCHMARK.md). A transcript needs none of that, so ``write`` only
    formats the line and keeps it; the lines reach the file together, ``flush_delay`` seconds
    later when an event loop runs (at once otherwise, or once a megabyte waits), and on
    ``flush`` and ``close``.
    """

    def __init__(self, path: Path, flush_delay: float = DEFAULT_FLUSH_DELAY) -> None:
        self.path = path
        self._flush_delay = flush_delay
        self._file = open_private(path)
        self._lines: list[str] = []  # lines waiting, a string of one or more each
        self._waiting_characters = 0
        self._flush_timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._stamp_second = -1
        self._stamp = ""

    def write(self, text: str) -> None:
        """Log one event: ``text`` made printable (one line, no escape sequence), after the date."""
        self.write_all([text])

    def write_all(self, texts: list[str]) -> None:
        """Log events that happened together, as ``write`` logs each."""
        second = int(time.time())
        if second != self._stamp_second:
            self._stamp_second = second
            self._stamp = time.strftime(DATE_FORMAT, time.localtime(second))
        stamp = self._stamp + " "
        if not all(map(str.isprintable, texts)):  # the usual case, checked at C speed: nothing to replace
            texts = [printable(text) for text in texts]
        lines = stamp + ("\n" + stamp).join(texts) + "\n"
        self._lines.append(lines)
        self._waiting_characters += len(lines)
        if self._waiting_characters >= EARLY_FLUSH_CHARACTERS:
            self.flush()
        elif self._flush_timer is None or self._timer_loop is None or self._timer_loop.is_closed():
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        """Flush after ``flush_delay`` seconds on the running event loop, or now if there is none."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._timer_loop = loop
        self._flush_timer = loop.call_later(self._flush_delay, self.flush)

    def flush(self) -> None:
        """Append every line written so far to the file."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        lines, self._lines, self._waiting_characters = self._lines, [], 0
        if not lines or self._file.closed:  # closed: nowhere to write them any more
            return
        text = "".join(lines)
        try:
            self._file.write(text)
            self._file.flush()
        except OSError as error:
            logger.error(
                "cannot write to %s (%s): %d lines lost", self.path, error.strerror or error, text.count("\n")
            )

    def close(self) -> None:
        """Write what is left and close the file."""
        self.flush()
        self._file.close()


_open_logs: dict[Path, ConversationLog] = {}


@atexit.register
def _flush_open_logs() -> None:
    """Write the lines still in memory when the program ends without closing its log."""
    for log in list(_open_logs.values()):
        log.flush()


def conversation_log(kind: LogKind, log_dir: Path) -> ConversationLog:
    """The conversation log ``<log_dir>/<kind>.log``, never shown on the console.

    Calling it again for the same file returns the same log (one writer per file keeps the
    lines in order), until ``close_conversation_log``.
    """
    log_file = (log_dir / f"{kind}.log").resolve()
    log = _open_logs.get(log_file)
    if log is None:
        log_dir.mkdir(parents=True, exist_ok=True)
        log = _open_logs[log_file] = ConversationLog(log_file)
    return log


def close_conversation_log(log: ConversationLog) -> None:
    """Write what is left and close the file (at the end of a program, a test or a notebook)."""
    log.close()
    if _open_logs.get(log.path) is log:
        del _open_logs[log.path]
