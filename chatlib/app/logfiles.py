"""The chat's conversation log files: where they go, and a logger that appends one line per event.

The spec puts them in ``/var/log/chat_room``; a student's laptop rarely lets an ordinary user
write there, so the programs fall back to a per-user folder and say where they went.
"""

from __future__ import annotations

import getpass
import logging
import os
import tempfile
from pathlib import Path
from typing import Literal

from chatlib.app.terminal_text import printable

DEFAULT_LOG_DIR = Path("/var/log/chat_room")
LINE_FORMAT = "%(asctime)s %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

LogKind = Literal["server", "client"]


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


def choose_log_dir(preferred: Path | None, system_dir: Path = DEFAULT_LOG_DIR) -> Path:
    """The first usable folder of: ``preferred``, ``system_dir``, the per-user folder, a temp folder.

    The caller should tell the user where the logs went, since it may not be where they asked.
    """
    candidates = [preferred] if preferred is not None else []
    candidates += [system_dir, user_log_dir()]
    for candidate in candidates:
        if is_writable_dir(candidate):
            return candidate
    return last_resort_log_dir()


class PrintableFormatter(logging.Formatter):
    """Formats a record with its message made terminal-safe, so that one event stays one line."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        """Neutralise control characters and newlines of the message before the usual formatting."""
        record.message = printable(record.message)
        return super().formatMessage(record)


def conversation_log(kind: LogKind, log_dir: Path) -> logging.Logger:
    """A logger appending to ``<log_dir>/<kind>.log``, one dated line per event, never on the console.

    Calling it again for the same file returns the same logger without a second handler.
    """
    log_file = (log_dir / f"{kind}.log").resolve()
    logger = logging.getLogger(f"chatlib.app.conversation.{kind}:{log_file}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not logger.handlers:
        log_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, mode="a", encoding="utf-8")
        handler.setFormatter(PrintableFormatter(LINE_FORMAT, DATE_FORMAT))
        logger.addHandler(handler)
    return logger


def close_conversation_log(logger: logging.Logger) -> None:
    """Close the log file behind ``logger`` (at the end of a program, a test or a notebook)."""
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
