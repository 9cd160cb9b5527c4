"""The client's session layer against the real ChatServer over loopback TCP, users made of queues."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from chatlib.app.client.commands import help_lines
from chatlib.app.client.display import LineKind, clock, plain_text
from chatlib.app.client.handshake import PSEUDO_QUESTION, ROOM_QUESTION
from chatlib.app.client.session import run_session
from chatlib.app.client.session_io import SessionEnd, SessionError
from chatlib.app.protocol import (
    Announcement,
    Closing,
    EnterRoom,
    FrameDecoder,
    Hello,
    Message,
    Ping,
    Pong,
    RoomEntered,
    RoomInfo,
    RoomList,
    Welcome,
    encode,
)
from chatlib.app.server.chat_server import ChatServer
from tests.app.client_fixtures import TIMEOUT, ScriptedUser
from tests.app.conftest import ClientFactory

ROOM_NOTICES_END = "* Name one to join it, or a new name to create it."

SessionStarter = Callable[..., Awaitable["asyncio.Task[SessionEnd]"]]


@pytest.fixture
async def start_session(chat_server: ChatServer) -> AsyncIterator[SessionStarter]:
    """Start ``run_session`` for a ScriptedUser against the test server; wait until it is in its room."""
    tasks: list[asyncio.Task[SessionEnd]] = []

    async def start(
        user: ScriptedUser, pseudo: str | None = None, room: str | None = None
    ) -> asyncio.Task[SessionEnd]:
        assert chat_server.address is not None
        host, port = chat_server.address
        task = asyncio.create_task(run_session(host, port, user.io(), pseudo=pseudo, room=room))
        tasks.append(task)
        async with asyncio.timeout(TIMEOUT):
            while not any(line.text.startswith("You are in room") for line in user.lines):
                await asyncio.wait({task}, timeout=0.02)
                if task.done():
                    break
        return task

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def finished(task: asyncio.Task[SessionEnd]) -> SessionEnd:
    """The session's outcome, within the test timeout."""
    async with asyncio.timeout(TIMEOUT):
        return await task


async def test_two_users_talk_in_a_room(start_session: SessionStarter) -> None:
    alice, bob = ScriptedUser(), ScriptedUser()
    alice_session = await start_session(alice, "alice", "jeux")
    bob_session = await start_session(bob, "bob", "jeux")
    await alice.wait_for("Annonce : bob a rejoint la chatroom")

    bob.type("salut à tous", "ça va ?")
    heard = await alice.wait_for("bob a dit : ça va ?")
    first = await alice.wait_for("bob a dit : salut à tous")
    assert first.kind is LineKind.MESSAGE and first.pseudo == "bob"
    assert first.color.startswith("#") and len(first.color) == 7
    assert (
        first.time_ms is not None and plain_text(first) == f"{clock(first.time_ms)} bob a dit : salut à tous"
    )
    assert heard.time_ms is not None and heard.time_ms >= first.time_ms

    alice.type("très bien")
    await bob.wait_for("alice a dit : très bien")
    conversation = (LineKind.MESSAGE, LineKind.OWN_MESSAGE, LineKind.ANNOUNCEMENT, LineKind.HISTORY_MARK)
    assert bob.texts(*conversation) == [
        "--- history ---",
        "Annonce : alice a rejoint la chatroom",  # what was said before bob came
        "--- now ---",
        "Annonce : bob a rejoint la chatroom",
        "Vous avez dit : salut à tous",
        "Vous avez dit : ça va ?",
        "alice a dit : très bien",
    ]

    alice.end_input()
    assert await finished(alice_session) is SessionEnd.LEFT
    await bob.wait_for("Annonce : alice a quitté la chatroom")
    bob.type("/quit")
    assert await finished(bob_session) is SessionEnd.LEFT
    assert alice.texts(*conversation) == [
        "Annonce : alice a rejoint la chatroom",  # an empty history shows no marks
        "Annonce : bob a rejoint la chatroom",
        "bob a dit : salut à tous",
        "bob a dit : ça va ?",
        "Vous avez dit : très bien",
    ]


async def test_rooms_are_listed_with_their_members_then_asked(
    start_session: SessionStarter, connect: ClientFactory
) -> None:
    await connect("bob", "jeux")
    await connect("carol", "jeux")
    await connect("dave", "general")
    alice = ScriptedUser(answers=["python"])
    await start_session(alice, "alice")
    assert alice.questions == [ROOM_QUESTION]
    assert alice.texts(LineKind.NOTICE)[:5] == [
        "* Rooms on this server:",
        "*   general (1 member)",
        "*   jeux (2 members)",
        ROOM_NOTICES_END,
        "* You are in room python. Type /help for the commands.",
    ]


async def test_taken_pseudo_is_asked_again_in_interactive_mode(
    start_session: SessionStarter, connect: ClientFactory
) -> None:
    await connect("bob")
    alice = ScriptedUser(answers=["Bob", "  alice  ", "jeux"])
    await start_session(alice)
    assert alice.questions == [PSEUDO_QUESTION, PSEUDO_QUESTION, ROOM_QUESTION]
    assert alice.texts(LineKind.ERROR) == ["! Pseudo refused: the pseudo Bob is already in use"]
    await alice.wait_for("Annonce : alice a rejoint la chatroom")


async def test_refused_pseudo_ends_a_scripted_session(
    chat_server: ChatServer, connect: ClientFactory
) -> None:
    await connect("bob")
    assert chat_server.address is not None
    user = ScriptedUser(interactive=False)
    with pytest.raises(SessionError, match=r"^pseudo 'bob' refused: the pseudo bob is already in use$"):
        async with asyncio.timeout(TIMEOUT):
            await run_session(*chat_server.address, user.io(), pseudo="bob", room="jeux")


async def test_too_long_pseudo_is_refused_before_sending(start_session: SessionStarter) -> None:
    alice = ScriptedUser(answers=["a" * 25, "alice", "jeux"])
    await start_session(alice)
    assert alice.texts(LineKind.ERROR) == [
        "! Pseudo refused: the pseudo is 25 characters long; the most is 24"
    ]


async def test_bad_room_is_asked_again(start_session: SessionStarter) -> None:
    alice = ScriptedUser(answers=["bad\x07room", "r" * 33, "jeux"])
    await start_session(alice, "alice")
    assert alice.questions == [ROOM_QUESTION] * 3
    assert alice.texts(LineKind.ERROR) == [
        "! Room refused: the room name holds control or invisible characters",
        "! Room refused: the room name is 33 characters long; the most is 32",
    ]


async def test_commands(start_session: SessionStarter, connect: ClientFactory) -> None:
    bob = await connect("bob", "jeux")
    alice = ScriptedUser()
    session = await start_session(alice, "alice", "jeux")
    await bob.next_frame()  # alice's arrival

    alice.type("/help", "/dance", "//slash", "x" * 4097, "   ", "ok")
    await alice.wait_for("Vous avez dit : ok")
    assert alice.texts(LineKind.NOTICE)[-len(help_lines()) :] == [f"* {line}" for line in help_lines()]
    assert alice.texts(LineKind.ERROR) == [
        "! unknown command /dance: type /help for the list (// to send a line that starts with /)",
        "! Message not sent: 4097 bytes, the limit is 4096",
    ]
    for expected in ("/slash", "ok"):  # the long and the blank lines were not sent
        frame = await bob.next_frame()
        assert isinstance(frame, Message) and frame.text == expected

    alice.type("/join python")
    await alice.wait_for("* You are now in room python.")
    await alice.wait_for("Annonce : alice arrive du salon jeux")
    departure = await bob.next_frame()
    assert isinstance(departure, Announcement)
    assert departure.text == "Annonce : alice passe dans le salon python"
    alice.end_input()
    assert await finished(session) is SessionEnd.LEFT


async def test_peer_text_is_shown_harmless(start_session: SessionStarter, connect: ClientFactory) -> None:
    bob = await connect("bob", "jeux")
    alice = ScriptedUser()
    await start_session(alice, "alice", "jeux")
    await bob.say("\x1b]0;pwned\x07\x1b[2Jhi\nalice a dit : fake")
    line = await alice.wait_for("bob a dit : ␛]0;pwned␇␛[2Jhi␊alice a dit : fake")
    assert line.text == "\x1b]0;pwned\x07\x1b[2Jhi\nalice a dit : fake"  # kept intact, made safe on display


async def test_server_stopping_ends_the_session(
    chat_server: ChatServer, start_session: SessionStarter
) -> None:
    alice = ScriptedUser()
    session = await start_session(alice, "alice", "jeux")
    await chat_server.stop()
    assert await finished(session) is SessionEnd.SERVER_CLOSED
    assert plain_text(alice.lines[-1]) == "! The server is closing: server shutting down"


async def test_connection_refused() -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    user = ScriptedUser(interactive=False)
    with pytest.raises(SessionError, match=rf"^cannot connect to 127\.0\.0\.1:{port}: connection refused$"):
        async with asyncio.timeout(TIMEOUT):
            await run_session("127.0.0.1", port, user.io(), pseudo="alice", room="jeux")


# --- Behaviours the real server never shows: a small scripted server speaking real frames -------

ScriptedServer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def run_against(script: ScriptedServer, user: ScriptedUser) -> SessionEnd:
    """Run a session against a one-connection server that follows ``script`` after the handshake."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = FrameDecoder("client")
        frames: list[object] = []
        while len(frames) < 2:  # HELLO, then ENTER_ROOM once ROOMS has gone out
            frames += decoder.feed(await reader.read(1024))
            if frames and isinstance(frames[0], Hello) and len(frames) == 1:
                writer.write(
                    encode(Welcome("id1", "alice", "#123456")) + encode(RoomList((RoomInfo("general", 0),)))
                )
        assert frames == [Hello("alice"), EnterRoom("jeux")]
        writer.write(encode(RoomEntered("jeux")))
        await script(reader, writer)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with asyncio.timeout(TIMEOUT):
            return await run_session("127.0.0.1", port, user.io(), pseudo="alice", room="jeux")
    finally:
        server.close()


async def test_ping_is_answered_with_pong() -> None:
    answers: list[bytes] = []

    async def ping_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(encode(Ping()))
        answers.append(await reader.readexactly(len(encode(Pong()))))
        writer.write(encode(Closing("maintenance")))
        writer.close()

    user = ScriptedUser()
    assert await run_against(ping_then_close, user) is SessionEnd.SERVER_CLOSED
    assert answers == [encode(Pong())]
    assert plain_text(user.lines[-1]) == "! The server is closing: maintenance"


async def test_server_vanishing_is_reported() -> None:
    async def vanish(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    user = ScriptedUser()
    assert await run_against(vanish, user) is SessionEnd.SERVER_CLOSED
    assert plain_text(user.lines[-1]) == "! The server closed the connection."


async def test_server_vanishing_mid_frame_is_reported() -> None:
    async def half_a_frame(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(encode(Message(0, "bob", "#654321", "cut short"))[:-3])
        writer.close()

    user = ScriptedUser()
    assert await run_against(half_a_frame, user) is SessionEnd.CONNECTION_LOST
    assert (
        plain_text(user.lines[-1])
        == "! Connection lost: the server closed the connection in the middle of a frame"
    )


async def test_garbage_from_the_server_is_reported() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await reader.read()  # until the client hangs up

    user = ScriptedUser()
    assert await run_against(garbage, user) is SessionEnd.CONNECTION_LOST
    assert (
        plain_text(user.lines[-1])
        == "! The server sent something unreadable (BAD_FRAME): unknown frame type 0x48"
    )
