"""A test client that speaks the chat's frames over the web front's WebSocket, as a browser would."""

from __future__ import annotations

import asyncio

import aiohttp

from chatlib.app.protocol import FrameDecoder
from chatlib.app.web.front import WEBSOCKET_PATH
from tests.app.conftest import TIMEOUT, ConnectionClosed, FrameClient


class WebFrameClient(FrameClient):
    """``FrameClient``'s helpers (hello, enter, say, next_frame...) over a WebSocket instead of TCP."""

    def __init__(self, session: aiohttp.ClientSession, websocket: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.websocket = websocket
        self.decoder = FrameDecoder("server")
        self.received = []
        self.welcome = None
        self.rooms = None
        self.history = None
        self.close_code: int | None = None

    @classmethod
    async def connect_web(cls, host: str, port: int, origin: str | None = None) -> WebFrameClient:
        """Open the WebSocket of the web front at ``host``:``port`` (``origin``: the page's, if any)."""
        session = aiohttp.ClientSession()
        headers = {"Origin": origin} if origin else {}
        try:
            async with asyncio.timeout(TIMEOUT):
                websocket = await session.ws_connect(f"http://{host}:{port}{WEBSOCKET_PATH}", headers=headers)
        except BaseException:
            await session.close()
            raise
        return cls(session, websocket)

    async def send_raw(self, data: bytes) -> None:
        """Send bytes as one binary message."""
        await self.websocket.send_bytes(data)

    async def next_frame(self, timeout: float = TIMEOUT) -> object:
        """The next frame from the server; ConnectionClosed once the WebSocket closes."""
        async with asyncio.timeout(timeout):
            while not self.received:
                message = await self.websocket.receive()
                if message.type is not aiohttp.WSMsgType.BINARY:
                    self.close_code = self.websocket.close_code
                    raise ConnectionClosed
                self.received.extend(self.decoder.feed(message.data))
        return self.received.pop(0)

    async def close(self) -> None:
        """Close the WebSocket and its session."""
        await self.websocket.close()
        await self.session.close()
