"""``chat-client`` in a real pseudo-terminal, typed into as a person would, against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatlib.app.protocol import Announcement, Message
from chatlib.app.server import ChatServer
from tests.app.client_fixtures import PtyClient
from tests.app.conftest import ClientFactory, FrameClient

pytestmark = pytest.mark.pty

UP_ARROW = "\x1b[A"
CTRL_C = "\x03"


@pytest.fixture
def terminal_client(chat_server: ChatServer, tmp_path: Path) -> Iterator[PtyClient]:
    """The client in a pseudo-terminal, connected to the test server, killed if still alive at the end."""
    assert chat_server.address is not None
    client = PtyClient(chat_server.address[1], tmp_path / "logs", tmp_path / "home")
    yield client
    client.kill()


async def message_text(client: FrameClient) -> str:
    """The text of the next frame, which must be a MESSAGE."""
    frame = await client.next_frame()
    assert isinstance(frame, Message), frame
    return frame.text


async def log_in(terminal: PtyClient, pseudo: str, room: str) -> None:
    """Answer the pseudo and room questions and wait to be in the room."""
    await terminal.expect_exact("Your pseudo:")
    terminal.send(f"{pseudo}\r")
    await terminal.expect_exact("Room to join or create:")
    terminal.send(f"{room}\r")
    await terminal.expect_exact(f"You are in room {room}. Type /help for the commands.")


async def test_a_terminal_chat(terminal_client: PtyClient, connect: ClientFactory, tmp_path: Path) -> None:
    bob = await connect("bob", "jeux")
    await log_in(terminal_client, "alice", "jeux")
    arrival = await bob.next_frame()
    assert isinstance(arrival, Announcement) and arrival.text == "Annonce : alice a rejoint la chatroom"

    # A message arrives while alice is half-way through typing: it prints above, her line survives.
    terminal_client.send("hal")
    await terminal_client.expect_exact("hal")
    await bob.say("coucou alice")
    await terminal_client.expect(r"\[\d\d:\d\d\] .*bob.* a dit : coucou alice")
    terminal_client.send("f done\r")
    assert await message_text(bob) == "half done"
    await terminal_client.expect(r"\[\d\d:\d\d\] .*Vous avez dit : half done")

    terminal_client.send(UP_ARROW)
    await terminal_client.expect_exact("half done")
    terminal_client.send("\r")
    assert await message_text(bob) == "half done"

    terminal_client.send("/help\r")
    await terminal_client.expect_exact("/join ROOM")
    await terminal_client.expect_exact("/quit")

    terminal_client.send("/quit\r")
    assert await terminal_client.exit_status() == 0
    departure = await bob.next_frame()
    assert isinstance(departure, Announcement) and departure.text == "Annonce : alice a quitté la chatroom"
    assert "Traceback" not in terminal_client.output()

    log = (tmp_path / "logs" / "client.log").read_text("utf-8")
    for line in (
        "bob a dit : coucou alice",
        "Vous avez dit : half done",
        "Annonce : alice a rejoint la chatroom",
    ):
        assert line in log
    assert log.count("Vous avez dit : half done") == 2


async def test_pseudo_is_asked_again_when_taken(terminal_client: PtyClient, connect: ClientFactory) -> None:
    await connect("bob")
    await terminal_client.expect_exact("Your pseudo:")
    terminal_client.send("bob\r")
    await terminal_client.expect_exact("Pseudo refused: the pseudo bob is already in use")
    await log_in(terminal_client, "alice", "général")
    terminal_client.send("\x04")  # Ctrl+D leaves like /quit
    assert await terminal_client.exit_status() == 0


async def test_server_going_away_is_reported(terminal_client: PtyClient, chat_server: ChatServer) -> None:
    await log_in(terminal_client, "alice", "jeux")
    terminal_client.send("typing")
    await chat_server.stop()
    await terminal_client.expect_exact("The server is closing: server shutting down")
    assert await terminal_client.exit_status() == 1
    assert "Traceback" not in terminal_client.output()


async def test_ctrl_c_at_a_question_exits_cleanly(terminal_client: PtyClient) -> None:
    await terminal_client.expect_exact("Your pseudo:")
    terminal_client.send(CTRL_C)
    await terminal_client.expect_exact("chat-client: interrupted")
    assert await terminal_client.exit_status() == 130
    assert "Traceback" not in terminal_client.output()


async def test_ctrl_c_in_the_chat_leaves_like_quit(terminal_client: PtyClient, connect: ClientFactory) -> None:
    bob = await connect("bob", "jeux")
    await log_in(terminal_client, "alice", "jeux")
    await bob.next_frame()  # alice's arrival
    terminal_client.send(CTRL_C)
    assert await terminal_client.exit_status() == 0
    departure = await bob.next_frame()
    assert isinstance(departure, Announcement) and departure.text == "Annonce : alice a quitté la chatroom"
