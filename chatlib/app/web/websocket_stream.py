"""A browser's WebSocket as one more byte stream for the chat server: the same frames, another transport.

The chat's frames travel in binary WebSocket messages. The stream is the messages' bytes put end
to end, so a message may hold one frame, several, or a piece of one: the server's
``FrameDecoder`` does not care how its bytes were cut, over TCP or here.

aiohttp does the WebSocket handshake and reads the browser's messages (unmasking them,
answering its pings, enforcing a size limit): ``WebSocketByteReader`` hands their bytes to the
server as ``StreamReader.read`` would. Writing goes around aiohttp's own writer, whose sends
must be awaited: the server's outbox writes without waiting and watches the transport's buffer
(outbox.py). So ``WebSocketTransport`` puts a WebSocket header (RFC 6455, section 5.2) before each
write and writes both on the TCP transport underneath; the buffer the outbox watches is the
socket's real one, and ``drain`` waits on aiohttp's own flow control. Backpressure is exactly
what it is over TCP.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.abc import AbstractStreamWriter

from chatlib.app.protocol import ErrorCode, ProtocolError

OPCODE_BINARY = 0x2
OPCODE_CLOSE = 0x8
NORMAL_CLOSURE = 1000
_FINAL_FRAGMENT = 0x80  # every message goes out whole, in one frame
_JOIN_BELOW = 16 * 1024  # smaller payloads are joined to their header: one write, one packet


def frame_header(opcode: int, length: int) -> bytes:
    """The header of an unmasked, unfragmented WebSocket frame, as a server sends it (RFC 6455 5.2)."""
    first = _FINAL_FRAGMENT | opcode
    if length < 126:
        return bytes((first, length))
    if length < 0x10000:
        return bytes((first, 126)) + length.to_bytes(2, "big")
    return bytes((first, 127)) + length.to_bytes(8, "big")


def close_frame(code: int = NORMAL_CLOSURE) -> bytes:
    """A whole WebSocket close frame carrying ``code`` (1000: a normal closure)."""
    return frame_header(OPCODE_CLOSE, 2) + code.to_bytes(2, "big")


class WebSocketTransport(asyncio.WriteTransport):
    """The TCP transport under a WebSocket, seen as a transport of the chat's byte stream.

    Each ``write`` goes out as one binary message; ``close`` sends a close frame, then closes the
    TCP connection once its buffer is sent; buffer sizes and limits are the TCP transport's.
    """

    def __init__(self, tcp: asyncio.Transport) -> None:
        super().__init__()
        self._tcp = tcp
        self._close_sent = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` as one binary message (nothing after the close frame, as RFC 6455 wants)."""
        if self.is_closing() or not data:
            return
        header = frame_header(OPCODE_BINARY, len(data))
        if len(data) < _JOIN_BELOW:
            self._tcp.write(header + data)
        else:
            self._tcp.write(header)
            self._tcp.write(data)

    def is_closing(self) -> bool:
        """Whether the connection is closing or closed, by us, by aiohttp or by the browser."""
        return self._close_sent or self._tcp.is_closing()

    def close(self) -> None:
        """Say goodbye (a close frame) after what is queued, then close the TCP connection."""
        if not self.is_closing():
            self._close_sent = True
            self._tcp.write(close_frame())
        self._tcp.close()

    def abort(self) -> None:
        """Close the TCP connection at once, dropping what the browser has not read."""
        self._close_sent = True
        self._tcp.abort()

    def get_write_buffer_size(self) -> int:
        """Bytes waiting in the TCP transport for the browser to read."""
        return self._tcp.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """The TCP transport's low- and high-water marks."""
        return self._tcp.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Change the TCP transport's water marks."""
        self._tcp.set_write_buffer_limits(high, low)

    def can_write_eof(self) -> bool:
        """No: a WebSocket ends with a close frame, not a half-close."""
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """What the TCP transport knows: the browser's real address as ``"peername"``, the socket..."""
        return self._tcp.get_extra_info(name, default)


class WebSocketByteReader:
    """The bytes of a browser's binary messages, read as ``StreamReader.read`` reads a socket."""

    def __init__(self, websocket: web.WebSocketResponse) -> None:
        self._websocket = websocket
        self.ended = False

    async def read(self, n: int = -1) -> bytes:
        """The next message's bytes (aiohttp caps a message's size); ``b""`` once the browser is gone.

        ``n`` is not needed: a message is never larger than the web front's limit. A text message
        is not part of the protocol: it ends the connection like any malformed frame.
        """
        while not self.ended:
            message = await self._websocket.receive()
            if message.type is WSMsgType.BINARY:
                if message.data:
                    return bytes(message.data)
            elif message.type is WSMsgType.TEXT:
                raise ProtocolError(ErrorCode.BAD_FRAME, "the chat's WebSocket carries binary messages only")
            else:  # CLOSE, CLOSING, CLOSED or ERROR: the browser left, or the connection failed
                self.ended = True
        return b""

    async def read_until_closed(self) -> None:
        """Drop whatever still arrives until the connection is closed (once the server stopped reading)."""
        while not self.ended:
            message = await self._websocket.receive()
            if message.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                self.ended = True


class WebSocketByteWriter:
    """The writing half of a browser's WebSocket, as ``ChatServer`` uses a ``StreamWriter``."""

    def __init__(
        self, tcp: asyncio.Transport, http_writer: AbstractStreamWriter, reader: WebSocketByteReader
    ) -> None:
        self._transport = WebSocketTransport(tcp)
        self._http_writer = http_writer
        self._reader = reader

    @property
    def transport(self) -> WebSocketTransport:
        """The transport the outbox writes to and watches."""
        return self._transport

    def write(self, data: bytes) -> None:
        """Send ``data`` as one binary message."""
        self._transport.write(data)

    def close(self) -> None:
        """Close after what is queued: a close frame, then the TCP connection."""
        self._transport.close()

    async def drain(self) -> None:
        """Wait until the socket's buffer is below its low-water mark (aiohttp's flow control)."""
        await self._http_writer.drain()
        if self._transport.is_closing():
            raise ConnectionResetError("the WebSocket is closed")

    async def wait_closed(self) -> None:
        """Wait until the browser's connection is closed: nothing arrives from it any more."""
        await self._reader.read_until_closed()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """What the TCP transport knows (``"peername"``: the browser's address)."""
        return self._transport.get_extra_info(name, default)
