"""The client's pure parts: what a typed line means, and how each kind of line is shown."""

from __future__ import annotations

from datetime import datetime

import pytest

from chatlib.app.client.commands import (
    BadCommand,
    JoinRoom,
    Nothing,
    Quit,
    SendImageFile,
    SendText,
    ShowHelp,
    help_lines,
    parse_input,
)
from chatlib.app.client.display import (
    ChatLine,
    LineKind,
    clock,
    formatted_text,
    fragments,
    picture_ansi,
    plain_text,
)
from chatlib.app.client.handshake import room_list_lines
from chatlib.app.protocol import RoomInfo

NOON_LOCAL_MS = int(datetime(2026, 3, 14, 12, 5, 59).timestamp() * 1000)  # naive datetime: local time


@pytest.mark.parametrize(
    ("typed", "action"),
    [
        ("bonjour", SendText("bonjour")),
        ("  spaced out  ", SendText("  spaced out  ")),
        ("", Nothing()),
        ("   ", Nothing()),
        ("/help", ShowHelp()),
        ("/HELP", ShowHelp()),
        ("/quit", Quit()),
        ("/exit", Quit()),
        ("/join python", JoinRoom("python")),
        ("/join   le salon  ", JoinRoom("le salon")),
        ("/join", BadCommand("/join needs a room name: /join ROOM")),
        ("//slash is text", SendText("/slash is text")),
        ("/image ~/cat.png", SendImageFile("~/cat.png")),
        ("/image   'my photo.jpg' ", SendImageFile("my photo.jpg")),
        ('/image "a b.png"', SendImageFile("a b.png")),
        ("/image", BadCommand("/image needs a file: /image PATH")),
        (
            "/shrug",
            BadCommand(
                "unknown command /shrug: type /help for the list (// to send a line that starts with /)"
            ),
        ),
    ],
)
def test_typed_lines(typed: str, action: object) -> None:
    assert parse_input(typed) == action


def test_help_lists_every_command_aligned() -> None:
    assert help_lines() == [
        "Commands:",
        "  /help        list the commands",
        "  /join ROOM   leave this room for ROOM (created if it does not exist)",
        "  /image PATH  send a PNG or JPEG file to the room",
        "  /quit        leave the chat (Ctrl+D does the same)",
    ]


def test_clock_is_local_hours_and_minutes() -> None:
    assert clock(NOON_LOCAL_MS) == "[12:05]"


def test_message_from_someone_else_has_a_colored_pseudo() -> None:
    line = ChatLine(LineKind.MESSAGE, "ça va ?", NOON_LOCAL_MS, "bob", "#1f77b4")
    assert fragments(line) == [
        ("class:time", "[12:05] "),
        ("fg:#1f77b4 bold", "bob"),
        ("", " a dit : ça va ?"),
    ]
    assert plain_text(line) == "[12:05] bob a dit : ça va ?"
    assert list(formatted_text(line)) == fragments(line)


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (ChatLine(LineKind.OWN_MESSAGE, "salut", NOON_LOCAL_MS), "[12:05] Vous avez dit : salut"),
        (
            ChatLine(LineKind.ANNOUNCEMENT, "Annonce : bob a rejoint la chatroom", NOON_LOCAL_MS),
            "[12:05] Annonce : bob a rejoint la chatroom",
        ),
        (ChatLine(LineKind.ERROR, "Pseudo refused: taken"), "! Pseudo refused: taken"),
        (ChatLine(LineKind.CLOSING, "The server is closing: bye"), "! The server is closing: bye"),
        (ChatLine(LineKind.NOTICE, "You are in room jeux."), "* You are in room jeux."),
        (ChatLine(LineKind.GREETING, "Welcome back alice !"), "Welcome back alice !"),
        (ChatLine(LineKind.HISTORY_MARK, "--- history ---"), "--- history ---"),
        (
            ChatLine(LineKind.IMAGE, "[image PNG 96×64]", NOON_LOCAL_MS, "bob", "#1f77b4"),
            "[12:05] bob sent an image [image PNG 96×64]",
        ),
    ],
)
def test_each_kind_of_line(line: ChatLine, shown: str) -> None:
    assert plain_text(line) == shown


def test_every_peer_string_is_made_harmless() -> None:
    line = ChatLine(LineKind.MESSAGE, "\x1b[2J\r\nfake", NOON_LOCAL_MS, "b\x1bob", "#000000")
    assert plain_text(line) == "[12:05] b␛ob a dit : ␛[2J␍␊fake"
    closing = ChatLine(LineKind.CLOSING, "The server is closing: \x1b]0;pwned\x07")
    assert plain_text(closing) == "! The server is closing: ␛]0;pwned␇"


def test_room_list() -> None:
    assert room_list_lines((RoomInfo("general", 0), RoomInfo("jeux", 1), RoomInfo("python", 12))) == [
        "Rooms on this server:",
        "  general (0 members)",
        "  jeux (1 member)",
        "  python (12 members)",
        "Name one to join it, or a new name to create it.",
    ]
    assert room_list_lines(()) == ["No rooms yet: name one to create it."]


def test_image_line_has_a_colored_pseudo() -> None:
    line = ChatLine(LineKind.IMAGE, "[image JPEG 40×30]", NOON_LOCAL_MS, "bob", "#1f77b4")
    assert fragments(line) == [
        ("class:time", "[12:05] "),
        ("fg:#1f77b4 bold", "bob"),
        ("", " sent an image [image JPEG 40×30]"),
    ]


def test_a_picture_keeps_only_its_color_codes() -> None:
    art = "\x1b[31m##\x1b[2J\x1b]0;x\x07\x1b[0m\n\x1b[34m..\x1b[0m\n"
    assert plain_text(ChatLine(LineKind.PICTURE, art)) == "##␛[2J␛]0;x␇\n.."
    assert picture_ansi(art) == "\x1b[31m##␛[2J␛]0;x␇\x1b[0m\n\x1b[34m..\x1b[0m"
