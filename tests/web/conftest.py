"""Fixtures for the web front's tests: a ChatServer with its WebFront, both on port 0 of 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from chatlib.app.server.chat_server import ChatServer
from chatlib.app.server.limits import ServerLimits
from chatlib.app.shared.logfiles import close_conversation_log, conversation_log
from chatlib.app.web.front import WebFront
from tests.app.conftest import TIMEOUT, FrameClient
from tests.web.web_client import WebFrameClient

Client = TypeVar("Client", bound=FrameClient)


@dataclass
class WebChat:
    """A running server and its web front, and ways to connect to either."""

    server: ChatServer
    front: WebFront
    clients: list[FrameClient]

    @property
    def tcp_address(self) -> tuple[str, int]:
        assert self.server.address is not None
        return self.server.address

    @property
    def web_address(self) -> tuple[str, int]:
        assert self.front.address is not None
        return self.front.address

    @property
    def page_origin(self) -> str:
        """The origin of the server's own page, as a browser would send it."""
        host, port = self.web_address
        return f"http://{host}:{port}"

    async def tcp(self, pseudo: str | None = None, room: str | None = None) -> FrameClient:
        """A TCP client, greeted and in ``room`` if given."""
        client = await FrameClient.connect(*self.tcp_address)
        return await self._ready(client, pseudo, room)

    async def web(
        self, pseudo: str | None = None, room: str | None = None, origin: str | None = None
    ) -> WebFrameClient:
        """A WebSocket client (with the page's own origin unless told otherwise), greeted and in ``room``."""
        client = await WebFrameClient.connect_web(*self.web_address, origin=origin or self.page_origin)
        return await self._ready(client, pseudo, room)

    async def _ready(self, client: Client, pseudo: str | None, room: str | None) -> Client:
        self.clients.append(client)
        if pseudo is not None:
            await client.hello(pseudo)
        if room is not None:
            await client.enter(room)
        return client


StartWebChat = Callable[..., Awaitable[WebChat]]


@pytest.fixture
async def start_web_chat(tmp_path: Path) -> AsyncIterator[StartWebChat]:
    """Start a ChatServer and its WebFront (with these limits and allowed origins); stopped at the end."""
    conversation = conversation_log("server", tmp_path / "logs")
    running: list[WebChat] = []

    async def start(limits: ServerLimits | None = None, origins: Iterable[str] = ()) -> WebChat:
        server = ChatServer(conversation, limits=limits)
        await server.start("127.0.0.1", 0)
        front = WebFront(server, origins)
        await front.start("127.0.0.1", 0)
        chat = WebChat(server, front, [])
        running.append(chat)
        return chat

    yield start
    for chat in running:
        for client in chat.clients:
            await client.close()
        async with asyncio.timeout(3 * TIMEOUT):
            await chat.server.stop()
            await chat.front.stop()
    close_conversation_log(conversation)


@pytest.fixture
async def web_chat(start_web_chat: StartWebChat) -> WebChat:
    """A server and its web front with the default limits."""
    return await start_web_chat()
