"""What the client shows, and how: chat lines as styled fragments, plain text or prompt_toolkit.

The session says *what* happened as a ``ChatLine``; this module decides how it looks. Every
string in a line goes through ``printable`` here, the one place text reaches the screen or log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.styles import Style

from chatlib.app import wording
from chatlib.app.terminal_text import printable

STYLE = Style.from_dict(
    {
        "time": "#888888",
        "announce": "italic",
        "notice": "#888888",
        "error": "bold #ff5f5f",
        "closing": "bold #ffaf00",
    }
)


class LineKind(Enum):
    """The kinds of line the client shows."""

    MESSAGE = "message"  # someone else said something
    OWN_MESSAGE = "own"  # what this user just said
    ANNOUNCEMENT = "announce"  # the server's notice to the room (arrivals, departures)
    ERROR = "error"  # the server refused something
    CLOSING = "closing"  # the server is going away
    NOTICE = "notice"  # the client's own information (rooms, help, connection state)


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One line to show: its kind, its text and, for chat lines, when and who (with their color)."""

    kind: LineKind
    text: str
    time_ms: int | None = None
    pseudo: str = ""
    color: str = ""


def now_ms() -> int:
    """The current time in milliseconds since the epoch, as the protocol counts it."""
    return time.time_ns() // 1_000_000


def clock(time_ms: int) -> str:
    """``[hh:mm]`` in the reader's local time."""
    return datetime.fromtimestamp(time_ms / 1000).strftime("[%H:%M]")


def fragments(line: ChatLine) -> list[tuple[str, str]]:
    """The line as (style, text) pieces, its peer-supplied parts made terminal-safe."""
    text = printable(line.text)
    pieces = [("class:time", clock(line.time_ms) + " ")] if line.time_ms is not None else []
    match line.kind:
        case LineKind.MESSAGE:
            pseudo = printable(line.pseudo)
            rest = wording.said(pseudo, text).removeprefix(pseudo)
            pieces += [(f"fg:{line.color} bold" if line.color else "bold", pseudo), ("", rest)]
        case LineKind.OWN_MESSAGE:
            pieces.append(("", wording.you_said(text)))
        case LineKind.ANNOUNCEMENT:
            pieces.append(("class:announce", text))
        case LineKind.ERROR:
            pieces.append(("class:error", f"! {text}"))
        case LineKind.CLOSING:
            pieces.append(("class:closing", f"! {text}"))
        case LineKind.NOTICE:
            pieces.append(("class:notice", f"* {text}"))
    return pieces


def plain_text(line: ChatLine) -> str:
    """The line as plain text, for logs, pipes and terminals without colors."""
    return "".join(text for _, text in fragments(line))


def formatted_text(line: ChatLine) -> FormattedText:
    """The line as prompt_toolkit formatted text, to print with ``STYLE``."""
    return FormattedText(fragments(line))
