"""What a chat session needs from its user, and how it ends: the types a user interface supplies.

A terminal, a pipe, a notebook or a test gives a session its ``SessionIO`` (three callables);
a ``TokenKeeper`` remembers the tokens that prove a pseudo is ours.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from chatlib.app.client.display import ChatLine

DEFAULT_PICTURE_COLUMNS = 80

ReadLine = Callable[[], Awaitable[str | None]]
Ask = Callable[[str], Awaitable[str | None]]
Show = Callable[[ChatLine], None]


def default_picture_columns() -> int:
    """How wide received pictures are drawn when the output has no width of its own."""
    return DEFAULT_PICTURE_COLUMNS


@dataclass(frozen=True)
class SessionIO:
    """How a session talks to its user.

    ``read_line`` returns the next line typed (None when input ends), ``show`` displays a line,
    ``ask`` puts a question and returns the answer (None when input ends); ``ask`` is None when
    there is nobody to ask, as in scripted mode, where a refused pseudo or room ends the session.
    Received images are drawn ``picture_columns()`` characters wide, with ANSI colors if
    ``colored_pictures`` (for a color terminal), else in plain characters. ``logged_in``, if
    given, is told the pseudo the server accepted (``chat-client`` tags its log lines with it).
    """

    show: Show
    read_line: ReadLine
    ask: Ask | None = None
    picture_columns: Callable[[], int] = default_picture_columns
    colored_pictures: bool = False
    logged_in: Callable[[str], None] | None = None


class TokenKeeper(Protocol):
    """Where a session finds the token to present with a pseudo, and keeps the one it is given
    (``chatlib.app.client.tokens.ServerTokens``). Both may touch a file: the session calls them in a thread.
    """

    def token_for(self, pseudo: str) -> str:
        """The token this server gave this pseudo before, or ""."""
        ...

    def remember(self, pseudo: str, token: str) -> None:
        """Keep the token this server gave this pseudo; OSError if it cannot."""
        ...


class SessionEnd(Enum):
    """How a session ended; only LEFT is a success."""

    LEFT = "left"  # the user quit, or their input ended
    SERVER_CLOSED = "server closed"  # the server said CLOSING or closed the connection
    CONNECTION_LOST = "connection lost"  # the connection broke, or the server sent garbage


class SessionError(Exception):
    """The session could not start: no connection, or a pseudo or room refused with nobody to ask."""


class UserLeft(Exception):
    """The user ended their input while being asked a question."""
