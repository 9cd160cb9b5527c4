"""One TCP (or TLS) client as an asyncio protocol: called when bytes arrive, and what the server writes through.

The stages read each client in a task of its own, through a ``StreamReader``: a loop that says
"read, then act" in the order it happens, the clearest way to learn. A task, its coroutines,
the stream reader and writer and their buffers cost some kilobytes per connection, even one
that never says a word. The finished server is written the other way round: asyncio calls
``data_received`` with each read's bytes, and the server acts on them there and then
(``FrameDispatcher.received``), with no task and no buffer of its own between two reads. Only
a frame that must wait (a HELLO being judged, an image being checked, a rate limit) gets a task,
for as long as it waits, and this client's reading stops meanwhile.

A ``ClientProtocol`` is also the ``ByteWriter`` its outbox writes to (streams.py): its
``drain`` follows the transport's flow control (``pause_writing``/``resume_writing``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from chatlib.app.server.connection import Connection
from chatlib.app.server.limits import MAX_DROPPED_BYTES

if TYPE_CHECKING:
    from chatlib.app.server.chat_server import ChatServer


class ClientProtocol(asyncio.Protocol):
    """What asyncio tells the server about one client's connection, and how the server writes to it."""

    __slots__ = ("_server", "_transport", "connection", "_drained", "_closed", "_when_closed", "_dropped")

    def __init__(self, server: ChatServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self.connection: Connection | None = None  # None until admitted, or if turned away
        self._drained: asyncio.Future[None] | None = None  # what drain() waits on, while writing is paused
        self._closed = False
        self._when_closed: asyncio.Future[None] | None = None  # what wait_closed() waits on, if called
        self._dropped = 0  # bytes read and dropped since the connection started ending

    # --- What asyncio calls --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """A client connected: the server admits it (or turns it away)."""
        self._transport = transport  # type: ignore[assignment]
        self.connection = self._server.admit(self, self.too_slow)

    def data_received(self, data: bytes) -> None:
        """A read brought bytes: the server acts on them now. Once the connection is ending they are
        dropped, and after ``MAX_DROPPED_BYTES`` of them it is read no more (limits.py)."""
        connection = self.connection
        if connection is None:
            return
        if not connection.leaving:
            self._server.received(connection, data, self)
            return
        self._dropped += len(data)
        if self._dropped > MAX_DROPPED_BYTES:
            self.transport.pause_reading()  # closed at the end of its grace (outbox.py)

    def eof_received(self) -> bool:
        """The client closed its side: it is gone. The transport then closes, after what is queued."""
        if self.connection is not None:
            self._server.end(self.connection)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is closed (by either side, or broken)."""
        self._closed = True
        for waiter in (self._drained, self._when_closed):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        if self.connection is not None:
            self._server.closed(self.connection, exc)

    def pause_writing(self) -> None:
        """The transport's buffer is over its high-water mark: ``drain`` waits from now on."""
        if self._drained is None or self._drained.done():
            self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        """The buffer went back under its low-water mark: ``drain`` returns."""
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    def too_slow(self, reason: str) -> None:
        """The outbox's overflow: this client does not read what it is sent."""
        if self.connection is not None:
            self._server.too_slow(self.connection, reason)

    # --- The ByteWriter the outbox writes to ----------------------------------------------------

    @property
    def transport(self) -> asyncio.Transport:
        """The TCP (or TLS) transport: its buffer size tells whether the client keeps up."""
        assert self._transport is not None
        return self._transport

    def write(self, data: bytes) -> None:
        """Queue bytes for the client (no waiting)."""
        self.transport.write(data)

    def close(self) -> None:
        """Close once what is queued is sent."""
        self.transport.close()

    async def drain(self) -> None:
        """Wait until the transport's buffer is under its low-water mark (ConnectionResetError if closed)."""
        if self._drained is not None:
            await asyncio.shield(self._drained)
        if self._closed or self.transport.is_closing():
            raise ConnectionResetError("connection lost")

    async def wait_closed(self) -> None:
        """Wait until the connection is closed."""
        if not self._closed:
            if self._when_closed is None:
                self._when_closed = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._when_closed)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """What the transport knows: ``"peername"``, ``"socket"``..."""
        return self.transport.get_extra_info(name, default)
