"""``chat-client`` as a person sees it: its screen drawn by a terminal emulator, as they type and resize."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from chatlib.app.client.reflow import Narrowed
from chatlib.app.protocol import Message
from chatlib.app.server.chat_server import ChatServer
from tests.app.client_fixtures import client_command, client_environment
from tests.app.conftest import ClientFactory, FrameClient
from tests.terminal_screen import ReflowingScreen, Terminal

pytestmark = pytest.mark.pty

CLOCK = r"\[\d\d:\d\d\] "
TYPED = "this is a line of text that I am typing right now"  # 49 characters
NARROW = 40
StartClient = Callable[..., Terminal]


@pytest.fixture
async def start_client(chat_server: ChatServer, tmp_path: Path) -> AsyncIterator[StartClient]:
    """Start chat-client in a terminal emulator (``reflowing=True``: one that reflows like tmux),
    connected to the test server."""
    assert chat_server.address is not None
    started: list[Terminal] = []

    def start(reflowing: bool = False) -> Terminal:
        home = tmp_path / "home"
        home.mkdir(parents=True, exist_ok=True)
        command = client_command(chat_server.address[1], tmp_path / "logs")
        environment = client_environment(home)
        del environment["PROMPT_TOOLKIT_NO_CPR"]  # this terminal answers cursor position requests
        client = Terminal.spawn(command[0], command[1:], reflowing=reflowing, cwd=str(home), env=environment)
        started.append(client)
        return client

    yield start
    for client in started:
        client.close()


async def log_in(client: Terminal, pseudo: str, room: str) -> None:
    """Answer the pseudo and room questions and wait for the empty input line."""
    await client.until(lambda screen: screen.cursor_row() == "Your pseudo:", "the pseudo question")
    client.type(f"{pseudo}\r")
    await client.until(lambda screen: "Room to join or create:" in screen.cursor_row(), "the room question")
    client.type(f"{room}\r")
    await client.until(input_line_reads(""), "the empty input line")


def input_line_reads(text: str) -> Callable[[Terminal], bool]:
    """Whether the cursor is on the input line and the line reads ``> text``."""
    return lambda screen: screen.cursor_row() == f"> {text}".rstrip()


def rows_holding(screen: Terminal, text: str) -> list[str]:
    """The rows of the screen in which ``text`` appears."""
    return [row for row in screen.rows() if text in row]


async def test_my_message_is_shown_once_as_vous_avez_dit(
    start_client: StartClient, connect: ClientFactory
) -> None:
    bob = await connect("bob", "jeux")
    alice = start_client()
    await log_in(alice, "alice", "jeux")
    await bob.next_frame()  # alice's arrival

    alice.type("half")
    await alice.until(input_line_reads("half"), "the typed text")
    alice.type(" done\r")
    message = await bob.next_frame()
    assert isinstance(message, Message) and message.text == "half done"
    await alice.until(
        lambda screen: input_line_reads("")(screen) and bool(rows_holding(screen, "Vous avez dit")),
        "the message shown and the input line empty again",
    )
    shown = rows_holding(alice, "half done")
    assert len(shown) == 1 and re.fullmatch(f"{CLOCK}Vous avez dit : half done", shown[0]), alice.text()

    alice.type("/quit\r")
    assert await alice.exit_status() == 0


async def narrow_while_typing(client: Terminal, bob: FrameClient) -> list[str]:
    """Type TYPED without Enter, narrow the terminal to NARROW columns; the rows above the input line."""
    await log_in(client, "alice", "jeux")
    await bob.next_frame()  # alice's arrival
    await bob.say("un message avant")
    # the input line comes back after the client's cursor position request, which the terminal
    # has answered by then: the client reads that answer before the keys typed next, so no
    # redraw it causes can come between the resize and what the client does about it
    bob_said = "bob a dit : un message avant"
    await client.until(
        lambda screen: bool(rows_holding(screen, bob_said)) and input_line_reads("")(screen),
        "bob's message, then the empty input line",
    )
    client.type(TYPED)
    await client.until(input_line_reads(TYPED), "the typed text")
    above = client.rows()[: client.screen.cursor.y]

    client.resize(NARROW)
    tail = TYPED[-20:]
    await client.until(
        lambda screen: screen.cursor_row().endswith(tail)
        and len([row for row in screen.rows() if row.startswith("> ")]) == 1
        and not [row for row in screen.rows() if TYPED[:20] in row],
        "the input line drawn once, at the new width, with no piece of it left above",
    )
    assert len(client.cursor_row()) <= NARROW
    return above


async def test_narrowing_a_reflowing_terminal_leaves_no_copy_of_the_input_line(
    start_client: StartClient, connect: ClientFactory
) -> None:
    bob = await connect("bob", "jeux")
    alice = start_client(reflowing=True)
    await narrow_while_typing(alice, bob)
    last_chat_row = alice.rows()[alice.screen.cursor.y - 1]
    assert re.fullmatch(f"{CLOCK}bob a dit : un message avant", last_chat_row), alice.text()

    alice.type("\r")
    message = await bob.next_frame()
    assert isinstance(message, Message) and message.text == TYPED, "the whole line was sent"
    alice.type("/quit\r")
    assert await alice.exit_status() == 0


async def test_narrowing_a_terminal_that_cuts_nothing_keeps_every_chat_line(
    start_client: StartClient, connect: ClientFactory
) -> None:
    bob = await connect("bob", "jeux")
    alice = start_client()  # like xterm: rows keep their place, what does not fit is hidden
    above = await narrow_while_typing(alice, bob)
    assert alice.rows()[: alice.screen.cursor.y] == [row[:NARROW].rstrip() for row in above], alice.text()
    alice.type("\r")
    message = await bob.next_frame()
    assert isinstance(message, Message) and message.text == TYPED, "the whole line was sent"
    alice.type("/quit\r")
    assert await alice.exit_status() == 0


@pytest.mark.parametrize(
    ("cursor_column", "column_now", "rows_cut_off"),
    [
        (51, 11, 1),  # the line was cut at 40: the cursor went down a row, to column 11
        (51, 39, 0),  # the cursor kept its row, its column clamped to the last one (xterm)
        (51, 51, 0),  # the cursor kept its row and its column (pyte)
        (85, 5, 2),  # cut twice
        (79, 39, 0),  # cut or clamped, no way to tell: better a stale copy than a chat line erased
    ],
)
def test_the_column_after_a_resize_tells_whether_the_line_was_cut(
    cursor_column: int, column_now: int, rows_cut_off: int
) -> None:
    assert Narrowed(cursor_column, NARROW).rows_cut_off(column_now) == rows_cut_off


def test_the_reflowing_screen_cuts_long_rows_as_tmux_does() -> None:
    screen = ReflowingScreen(20, 4, lambda answer: None)
    screen.draw("short")
    screen.linefeed()
    screen.carriage_return()
    screen.draw("a row of 18 chars.")
    screen.resize(4, 10)
    assert [row.rstrip() for row in screen.display] == ["short", "a row of 1", "8 chars.", ""]
    assert (screen.cursor.y, screen.cursor.x) == (2, 8)
