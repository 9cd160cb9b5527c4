"""``chat-client`` in a real pseudo-terminal, typed into as a person would, against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatlib.app.protocol import Announcement, ImageFrom, Message, SendImage
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.shared.sample_image import sample_png, write_sample_png
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


async def test_ctrl_c_in_the_chat_leaves_like_quit(
    terminal_client: PtyClient, connect: ClientFactory
) -> None:
    bob = await connect("bob", "jeux")
    await log_in(terminal_client, "alice", "jeux")
    await bob.next_frame()  # alice's arrival
    terminal_client.send(CTRL_C)
    assert await terminal_client.exit_status() == 0
    departure = await bob.next_frame()
    assert isinstance(departure, Announcement) and departure.text == "Annonce : alice a quitté la chatroom"


async def test_image_sent_and_received_in_a_terminal(
    terminal_client: PtyClient, connect: ClientFactory, tmp_path: Path
) -> None:
    picture = write_sample_png(tmp_path / "my picture.png")
    bob = await connect("bob", "jeux")
    await log_in(terminal_client, "alice", "jeux")
    await bob.next_frame()  # alice's arrival

    terminal_client.send(f"/image '{picture}'\r")  # quoted, as a terminal does with a dropped file
    await terminal_client.expect_exact(f"Image sent (PNG 96×64, {picture.stat().st_size} bytes)")
    image = await bob.next_frame()
    assert isinstance(image, ImageFrom) and image.data == picture.read_bytes()

    terminal_client.send("/image nowhere.png\r")
    await terminal_client.expect_exact("Image not sent: cannot read nowhere.png: No such file or directory")

    await bob.send(SendImage(sample_png()))
    await terminal_client.expect(r"bob.* sent an image \[image PNG 96×64\]")
    art = await terminal_client.expect(r"(\x1b\[[0-9;]*m[^\x1b\r\n]+){10,}")  # a row of colored characters
    assert "\x1b]" not in art and "\x1b[2J" not in art
    terminal_client.send("/quit\r")
    assert await terminal_client.exit_status() == 0

    log = (tmp_path / "logs" / "client.log").read_text("utf-8")
    assert "bob sent an image [image PNG 96×64]" in log
    assert "\x1b" not in log and len(log.splitlines()) < 20  # the placeholder, not the art


async def test_a_second_run_is_welcomed_back(
    chat_server: ChatServer, connect: ClientFactory, tmp_path: Path
) -> None:
    assert chat_server.address is not None
    port, logs, home = chat_server.address[1], tmp_path / "logs", tmp_path / "home"
    bob = await connect("bob", "jeux")
    first = PtyClient(port, logs, home)
    try:
        await log_in(first, "alice", "jeux")
        first.send("/quit\r")
        assert await first.exit_status() == 0
    finally:
        first.kill()
    assert [getattr(await bob.next_frame(), "text", None) for _ in range(2)] == [
        "Annonce : alice a rejoint la chatroom",
        "Annonce : alice a quitté la chatroom",
    ]

    second = PtyClient(port, logs, home)  # same home: same token file
    try:
        await second.expect_exact("Your pseudo:")
        second.send("alice\r")
        await second.expect_exact("Welcome back alice !")
        await second.expect_exact("Room to join or create:")
        second.send("jeux\r")
        await second.expect(r"--- history ---.*Annonce : alice a quitt.* la chatroom.*--- now ---")
        back = await bob.next_frame()
        assert isinstance(back, Announcement) and back.text == "alice est de retour !"
        second.send("/quit\r")
        assert await second.exit_status() == 0
    finally:
        second.kill()
