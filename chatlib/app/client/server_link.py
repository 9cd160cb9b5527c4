"""The client's TCP connection to the chat server, speaking whole frames instead of bytes."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from typing import cast

from chatlib.app.client.server_pins import ClientTls, ServerIdentityError
from chatlib.app.protocol import ClientFrame, FrameDecoder, ProtocolError, ServerFrame, encode

READ_SIZE = 64 * 1024
TLS_HANDSHAKE_TIMEOUT = 10.0  # seconds


class ConnectionLost(ConnectionError):
    """The server went away without a word, possibly in the middle of a frame."""


async def _open_tls(
    host: str, port: int, tls: ClientTls
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TLS connection to a server that showed the certificate we expect (see ``server_pins``)."""
    try:
        reader, writer = await asyncio.open_connection(
            host, port, ssl=tls.context(), server_hostname=host, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT
        )
    except ssl.SSLCertVerificationError as error:
        raise ServerIdentityError(
            f"REFUSED: the certificate of {host}:{port} cannot be verified ({error.verify_message}), "
            "so nothing was sent to it, your token included"
        ) from None
    except ssl.SSLError as error:
        raise ConnectionError(
            f"the TLS handshake failed ({error.reason or error}): does the server speak TLS?"
        ) from None
    ssl_object = writer.get_extra_info("ssl_object")
    try:
        tls.check(host, port, ssl_object.getpeercert(binary_form=True))
    except ServerIdentityError:
        writer.close()
        raise
    return reader, writer


class ServerLink:
    """Sends client frames and receives server frames over one TCP connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._decoder = FrameDecoder("server")
        self._received: deque[ServerFrame] = deque()
        self._failure: ProtocolError | None = None

    @classmethod
    async def open(cls, host: str, port: int, tls: ClientTls | None = None) -> ServerLink:
        """Connect to the server; chat lines are small, so Nagle's delay is turned off.

        With ``tls``, the server must prove who it is (a CA's signature or the pinned certificate)
        before anything is sent: ServerIdentityError if it cannot. OSError if the connection fails.
        """
        if tls is None:
            reader, writer = await asyncio.open_connection(host, port)
        else:
            reader, writer = await _open_tls(host, port, tls)
        connection = writer.get_extra_info("socket")
        if connection is not None:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def send(self, frame: ClientFrame) -> None:
        """Send one frame and wait until the socket can take more."""
        self._writer.write(encode(frame))
        await self._writer.drain()

    async def receive(self) -> ServerFrame | None:
        """The next frame from the server, or None once it has closed the connection cleanly.

        Raises ProtocolError on bytes that are not our protocol, ConnectionLost when the
        connection breaks or ends in the middle of a frame.
        """
        while not self._received:
            if self._failure is not None:
                raise self._failure
            try:
                data = await self._reader.read(READ_SIZE)
            except ConnectionError as error:
                raise ConnectionLost(f"connection lost: {error.strerror or error}") from None
            if not data:
                if self._decoder.pending_bytes:
                    raise ConnectionLost("the server closed the connection in the middle of a frame")
                return None
            try:
                frames = self._decoder.feed(data)
            except ProtocolError as error:
                frames = list(error.frames_before)  # the good frames before the bad one still count
                self._failure = error
            # A decoder made for the 'server' side only ever returns server frames.
            self._received.extend(cast(list[ServerFrame], frames))
        return self._received.popleft()

    def finish_sending(self) -> None:
        """Tell the server we will send nothing more (TCP half-close); its frames still arrive."""
        if self._writer.can_write_eof() and not self._writer.is_closing():
            self._writer.write_eof()

    async def close(self) -> None:
        """Close the connection; a connection already broken closes quietly."""
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except ConnectionError:
            pass
