"""What the client shows, and how: chat lines as styled fragments, plain text or prompt_toolkit.

The session says *what* happened as a ``ChatLine``; this module decides how it looks. Every
string in a line goes through ``printable`` here, the one place text reaches the screen or log.
The one exception is a received picture's ASCII art, made by our own code from the pixels:
its ANSI color codes (and nothing else) may reach a terminal, through ``picture_ansi``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.styles import Style

from chatlib.app.protocol import wording
from chatlib.app.shared.terminal_text import printable, printable_keeping_colors, without_colors

STYLE = Style.from_dict(
    {
        "time": "#888888",
        "announce": "italic",
        "notice": "#888888",
        "error": "bold #ff5f5f",
        "closing": "bold #ffaf00",
        "greeting": "bold",
        "history": "#888888",
    }
)
HISTORY_START = "--- history ---"
HISTORY_END = "--- now ---"


class LineKind(Enum):
    """The kinds of line the client shows."""

    MESSAGE = "message"  # someone else said something
    OWN_MESSAGE = "own"  # what this user just said
    ANNOUNCEMENT = "announce"  # the server's notice to the room (arrivals, departures)
    ERROR = "error"  # the server refused something
    CLOSING = "closing"  # the server is going away
    NOTICE = "notice"  # the client's own information (rooms, help, connection state)
    GREETING = "greeting"  # "Welcome back <PSEUDO> !" for a returning user
    HISTORY_MARK = "history mark"  # where the replayed history starts or ends
    IMAGE = "image"  # someone sent an image; the text is a placeholder such as "[image PNG 96×64]"
    PICTURE = "picture"  # the ASCII art of a received image, possibly with ANSI color codes


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


def _pseudo_style(color: str) -> str:
    """The style of a pseudo: bold, in its color."""
    return f"fg:{color} bold" if color else "bold"


def picture_text(art: str) -> str:
    """A picture's ASCII art as plain text: no color codes, every line terminal-safe."""
    return "\n".join(printable(row) for row in without_colors(art).rstrip("\n").split("\n"))


def picture_ansi(art: str) -> str:
    """A picture's ASCII art for a color terminal: its color codes kept, anything else made harmless."""
    return printable_keeping_colors(art.rstrip("\n"))


def fragments(line: ChatLine) -> list[tuple[str, str]]:
    """The line as (style, text) pieces, its peer-supplied parts made terminal-safe."""
    if line.kind is LineKind.PICTURE:
        return [("", picture_text(line.text))]
    text = printable(line.text)
    pieces = [("class:time", clock(line.time_ms) + " ")] if line.time_ms is not None else []
    match line.kind:
        case LineKind.MESSAGE:
            pseudo = printable(line.pseudo)
            rest = wording.said(pseudo, text).removeprefix(pseudo)
            pieces += [(_pseudo_style(line.color), pseudo), ("", rest)]
        case LineKind.IMAGE:
            pieces += [(_pseudo_style(line.color), printable(line.pseudo)), ("", f" sent an image {text}")]
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
        case LineKind.GREETING:
            pieces.append(("class:greeting", text))
        case LineKind.HISTORY_MARK:
            pieces.append(("class:history", text))
    return pieces


def plain_text(line: ChatLine) -> str:
    """The line as plain text, for logs, pipes and terminals without colors."""
    return "".join(text for _, text in fragments(line))


def formatted_text(line: ChatLine) -> FormattedText:
    """The line as prompt_toolkit formatted text, to print with ``STYLE``."""
    return FormattedText(fragments(line))
