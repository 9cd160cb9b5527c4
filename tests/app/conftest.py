"""Fixtures for the finished app's server tests: a server on port 0 and a tiny frame-speaking client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from chatlib.app.protocol import (
    Announcement,
    ClientFrame,
    EnterRoom,
    Error,
    ErrorCode,
    Frame,
    FrameDecoder,
    Hello,
    History,
    RoomEntered,
    RoomList,
    Say,
    Welcome,
    encode,
)
from chatlib.app.protocol.history import RoomHistory, parse_history
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.shared.logfiles import close_conversation_log, conversation_log

TIMEOUT = 5.0


class ConnectionClosed(Exception):
    """The server closed the connection while a test was waiting for a frame."""


class FrameClient:
    """A minimal client for tests: sends frames, and hands back the server's frames one by one."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = FrameDecoder("server")
        self.received: list[Frame] = []
        self.welcome: Welcome | None = None
        self.rooms: RoomList | None = None
        self.history: RoomHistory | None = None

    @classmethod
    async def connect(cls, host: str, port: int) -> FrameClient:
        """Open a real TCP connection to the server."""
        async with asyncio.timeout(TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, frame: ClientFrame) -> None:
        """Send one frame."""
        await self.send_raw(encode(frame))

    async def send_raw(self, data: bytes) -> None:
        """Send bytes as they are, well-formed or not."""
        self.writer.write(data)
        async with asyncio.timeout(TIMEOUT):
            await self.writer.drain()

    async def next_frame(self, timeout: float = TIMEOUT) -> Frame:
        """The next frame from the server; ConnectionClosed if it closes, TimeoutError if it is silent."""
        async with asyncio.timeout(timeout):
            while not self.received:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionClosed
                self.received.extend(self.decoder.feed(data))
        return self.received.pop(0)

    async def expect_closed(self, timeout: float = TIMEOUT) -> list[Frame]:
        """Read until the server closes the connection; return the frames that came before."""
        frames: list[Frame] = []
        while True:
            try:
                frames.append(await self.next_frame(timeout))
            except (ConnectionClosed, ConnectionResetError):
                return frames

    async def expect_silence(self, seconds: float = 0.2) -> None:
        """Check that no frame arrives for a short while (for "this client must not receive that")."""
        with pytest.raises(TimeoutError):
            frame = await self.next_frame(seconds)
            pytest.fail(f"unexpected frame: {frame!r}")

    async def hello(self, pseudo: str, token: str = "") -> Welcome:
        """Send HELLO and expect WELCOME then ROOMS."""
        await self.send(Hello(pseudo, token))
        welcome = await self.next_frame()
        assert isinstance(welcome, Welcome), welcome
        rooms = await self.next_frame()
        assert isinstance(rooms, RoomList), rooms
        self.welcome, self.rooms = welcome, rooms
        return welcome

    async def enter_quietly(self, room: str) -> RoomHistory:
        """Send ENTER_ROOM and expect ENTERED then the room's HISTORY (decoded, and kept in .history)."""
        await self.send(EnterRoom(room))
        entered = await self.next_frame()
        assert isinstance(entered, RoomEntered), entered
        history = await self.next_frame()
        assert isinstance(history, History), history
        self.history = parse_history(history.entries_json)
        assert self.history.room == entered.room
        return self.history

    async def enter(self, room: str) -> None:
        """Send ENTER_ROOM and expect ENTERED, HISTORY, then the announcement of one's own arrival."""
        await self.enter_quietly(room)
        announcement = await self.next_frame()
        assert isinstance(announcement, Announcement), announcement
        assert self.welcome is not None
        assert announcement.text == f"Annonce : {self.welcome.pseudo} a rejoint la chatroom"

    async def say(self, text: str) -> None:
        """Send a SAY."""
        await self.send(Say(text))

    async def sync(self) -> None:
        """Wait until the server has handled every frame this client sent so far.

        The server handles a client's frames in order, so its refusal of an empty room name
        sent now proves that everything before it is done.
        """
        await self.send(EnterRoom(""))
        refused = await self.next_frame()
        assert isinstance(refused, Error) and refused.code is ErrorCode.BAD_ROOM, refused

    async def close(self) -> None:
        """Close the connection (without BYE, like a client that just goes away)."""
        self.writer.close()
        try:
            async with asyncio.timeout(TIMEOUT):
                await self.writer.wait_closed()
        except (OSError, TimeoutError):
            pass


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    """A fresh folder for the conversation log."""
    return tmp_path / "logs"


@pytest.fixture
async def chat_server(log_dir: Path) -> AsyncIterator[ChatServer]:
    """A ChatServer on 127.0.0.1, port 0, logging the conversation to ``log_dir/server.log``."""
    conversation = conversation_log("server", log_dir)
    server = ChatServer(conversation)
    await server.start("127.0.0.1", 0)
    yield server
    async with asyncio.timeout(3 * TIMEOUT):
        await server.stop()
    close_conversation_log(conversation)


ClientFactory = Callable[..., Awaitable[FrameClient]]


async def greet(client: FrameClient, pseudo: str | None, room: str | None = None, token: str = "") -> None:
    """With a pseudo, send HELLO and wait for the WELCOME; with a room too, enter it."""
    if pseudo is not None:
        await client.hello(pseudo, token)
    if room is not None:
        await client.enter(room)


@pytest.fixture
async def connect(chat_server: ChatServer) -> AsyncIterator[ClientFactory]:
    """Connect a FrameClient to the test server; with pseudo (and room), also greet (and enter)."""
    clients: list[FrameClient] = []

    async def make_client(pseudo: str | None = None, room: str | None = None, token: str = "") -> FrameClient:
        assert chat_server.address is not None
        client = await FrameClient.connect(*chat_server.address)
        clients.append(client)
        await greet(client, pseudo, room, token)
        return client

    yield make_client
    for client in clients:
        await client.close()
