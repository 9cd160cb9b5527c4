"""Fixtures for the web front's tests: a ChatServer with its WebFront, both on port 0 of 127.0.0.1,
and for the browser tests, headless Chromium, ``chat-server`` and ``chat-client`` as real programs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

from chatlib.app.server.chat_server import ChatServer
from chatlib.app.server.limits import ServerLimits
from chatlib.app.shared.logfiles import close_conversation_log, conversation_log
from chatlib.app.web.front import WebFront
from tests.app.conftest import TIMEOUT, FrameClient
from tests.web.browser import BROWSER_FLAGS, NO_BROWSER, ServerProcess, TerminalUser, find_browser
from tests.web.chat_page import ChatPage
from tests.web.web_client import WebFrameClient

if TYPE_CHECKING:
    from playwright.sync_api import Browser

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


# --- Browser tests ------------------------------------------------------------------------------


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Chromium, the system's own, started for one test.

    Not once per session: while Playwright's synchronous API is started, asyncio believes an event
    loop is running in this thread, and the suite's async tests could not run their own.
    """
    executable = find_browser()
    if executable is None:
        pytest.skip(NO_BROWSER)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def chat_server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    """``chat-server --web-port`` started on free ports, with its data in ``tmp_path``."""
    server = ServerProcess(tmp_path)
    server.start()
    yield server
    server.kill()


OpenPage = Callable[..., ChatPage]


@pytest.fixture
def open_page(browser: Browser, chat_server_process: ServerProcess) -> Iterator[OpenPage]:
    """Open the chat page in a new browser profile (its own localStorage), ``width`` pixels wide."""
    contexts = []

    def open_one(width: int = 900, height: int = 640) -> ChatPage:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        return ChatPage(context.new_page(), chat_server_process.url)

    yield open_one
    for context in contexts:
        context.close()


StartTerminal = Callable[[str, str], TerminalUser]


@pytest.fixture
def terminal(chat_server_process: ServerProcess) -> Iterator[StartTerminal]:
    """Start ``chat-client PSEUDO ROOM`` (scripted mode) against the test server."""
    users: list[TerminalUser] = []

    def start(pseudo: str, room: str) -> TerminalUser:
        user = TerminalUser(chat_server_process, pseudo, room)
        users.append(user)
        return user

    yield start
    for user in users:
        user.quit()
