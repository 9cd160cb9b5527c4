"""What a typed line means: a message to send, or a ``/command`` for the client itself.

Pure functions, no I/O: the session acts on what ``parse_input`` returns.
"""

from __future__ import annotations

from dataclasses import dataclass

# The commands /help lists, in order.
COMMAND_HELP: dict[str, str] = {
    "/help": "list the commands",
    "/join ROOM": "leave this room for ROOM (created if it does not exist)",
    "/image PATH": "send a PNG or JPEG file to the room",
    "/quit": "leave the chat (Ctrl+D does the same)",
}
ESCAPED_SLASH = "//"  # a message that starts with "/" is typed with "//"


@dataclass(frozen=True, slots=True)
class SendText:
    """Say this text to the room."""

    text: str


@dataclass(frozen=True, slots=True)
class ShowHelp:
    """List the commands."""


@dataclass(frozen=True, slots=True)
class JoinRoom:
    """Move to another room."""

    room: str


@dataclass(frozen=True, slots=True)
class SendImageFile:
    """Send the image in this file to the room; ``path`` as typed (``~`` not yet expanded)."""

    path: str


@dataclass(frozen=True, slots=True)
class Quit:
    """Leave the chat."""


@dataclass(frozen=True, slots=True)
class Nothing:
    """A blank line: nothing to do."""


@dataclass(frozen=True, slots=True)
class BadCommand:
    """A line that looks like a command but is not one; ``problem`` says why."""

    problem: str


UserAction = SendText | ShowHelp | JoinRoom | SendImageFile | Quit | Nothing | BadCommand


def parse_input(line: str) -> UserAction:
    """Decide what a line typed by the user asks for."""
    if not line.strip():
        return Nothing()
    if line.startswith(ESCAPED_SLASH):
        return SendText(line[1:])
    if not line.startswith("/"):
        return SendText(line)
    name, _, argument = line.strip().partition(" ")
    argument = argument.strip()
    match name.lower():
        case "/help":
            return ShowHelp()
        case "/quit" | "/exit":
            return Quit()
        case "/join" if argument:
            return JoinRoom(argument)
        case "/join":
            return BadCommand("/join needs a room name: /join ROOM")
        case "/image" if argument:
            return SendImageFile(without_quotes(argument))
        case "/image":
            return BadCommand("/image needs a file: /image PATH")
    return BadCommand(
        f"unknown command {name}: type /help for the list (// to send a line that starts with /)"
    )


def without_quotes(path: str) -> str:
    """A path without the quotes a terminal adds around a file dropped on it (``'my photo.png'``)."""
    if len(path) >= 2 and path[0] == path[-1] and path[0] in "'\"":
        return path[1:-1]
    return path


def help_lines() -> list[str]:
    """The lines /help shows."""
    width = max(len(usage) for usage in COMMAND_HELP)
    return ["Commands:"] + [f"  {usage.ljust(width)}  {meaning}" for usage, meaning in COMMAND_HELP.items()]
