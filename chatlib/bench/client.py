"""One benchmark connection as an asyncio Protocol: decodes the handshake, then counts in bulk.

Until the start signal every frame is decoded (WELCOME, ROOMS, ENTERED, the arrivals); from
then on the stream holds only benchmark messages and goes to a ``DeliveryCounter``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import cast

from chatlib.app.protocol import (
    Announcement,
    Error,
    Frame,
    FrameDecoder,
    Message,
    Ping,
    Pong,
    ProtocolError,
    encode,
)
from chatlib.bench.counting import DeliveryCounter
from chatlib.bench.wire import SYNC_TEXT, now_ns

PONG = encode(Pong())


class BenchError(Exception):
    """Something that stops the benchmark, with a message meant for its report."""


class BenchClient(asyncio.Protocol):
    """One benchmark connection: decodes frames during the handshake, then counts in bulk."""

    def __init__(self, index: int, room_size: int) -> None:
        self.index = index
        self.transport: asyncio.Transport | None = None
        self.watched: dict[bytes, Callable[[int], None]] = {}
        self.counter: DeliveryCounter | None = None
        self.expected = 0
        self.completed_ns = 0
        self.complete = asyncio.Event()
        self.synced = asyncio.Event()
        self.everyone_in = asyncio.Event()  # the leader has seen every client's arrival
        self.failed = asyncio.Event()
        self.failure = ""
        self.writable = asyncio.Event()
        self.writable.set()
        self.in_flight = 0
        self.released = asyncio.Event()
        self._room_size = room_size
        self._announcements = 0
        self._decoder = FrameDecoder("server")
        self._frames: asyncio.Queue[Frame] = asyncio.Queue()

    # --- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport; small writes go out at once (the load generator is not measured)."""
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, but alike
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        """Decode frames until everyone is in the room, then only count."""
        if self.counter is not None:
            for frame in self.counter.feed(data):
                self._handle_other(frame)
            if self.counter.delivered >= self.expected and not self.complete.is_set():
                self.completed_ns = now_ns()
                self.complete.set()
            return
        try:
            frames = self._decoder.feed(data)
        except ProtocolError as error:
            self._fail(f"client {self.index}: the server's stream is broken: {error}")
            return
        for frame in frames:
            self._handle_setup_frame(frame)

    def pause_writing(self) -> None:
        """The transport's buffer is full: senders wait."""
        self.writable.clear()

    def resume_writing(self) -> None:
        """The transport's buffer drained: senders carry on."""
        self.writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        """The server closed the connection (or it broke): whatever waits on this client fails."""
        self._fail(f"client {self.index}: the server closed the connection" + (f" ({exc})" if exc else ""))

    # --- Setup ---------------------------------------------------------------------------------

    def _handle_setup_frame(self, frame: Frame) -> None:
        """Count arrivals, spot the sync message, answer PING; queue the rest for the handshake."""
        if isinstance(frame, Announcement):
            self._announcements += 1
            if self._announcements >= self._room_size:
                self.everyone_in.set()
        elif isinstance(frame, Message) and frame.text == SYNC_TEXT:
            self.start_counting()
        elif isinstance(frame, Ping):
            self.send(PONG)
        else:
            self._frames.put_nowait(frame)

    def _handle_other(self, frame: Frame) -> None:
        """A frame other than a benchmark message while counting: answer PING, stop on ERROR."""
        if isinstance(frame, Ping):
            self.send(PONG)
        elif isinstance(frame, Error):  # e.g. RATE_LIMITED: the report must say why messages went missing
            self._fail(f"client {self.index}: the server sent {frame.code.name}: {frame.text}")

    def _fail(self, reason: str) -> None:
        """Record why this client stopped (unless it had already finished) and close it."""
        if not self.failed.is_set() and not (self.counter is not None and self.complete.is_set()):
            self.failure = reason
            self.failed.set()
        if self.transport is not None:
            self.transport.close()

    def start_counting(self) -> None:
        """From now on the stream holds only benchmark messages: count them in bulk."""
        self.counter = DeliveryCounter(self.watched)
        self.synced.set()

    def send(self, data: bytes) -> None:
        """Write bytes to the server."""
        assert self.transport is not None
        self.transport.write(data)

    async def next_frame(self) -> Frame:
        """The next handshake frame from the server; fails if the connection goes away."""
        frame_wait = asyncio.ensure_future(self._frames.get())
        failure_wait = asyncio.ensure_future(self.failed.wait())
        await asyncio.wait((frame_wait, failure_wait), return_when=asyncio.FIRST_COMPLETED)
        failure_wait.cancel()
        if not frame_wait.done():
            frame_wait.cancel()
            raise BenchError(self.failure)
        return frame_wait.result()

    async def expect(self, wanted: type[Frame]) -> Frame:
        """The next frame, which must be of type ``wanted``; an ERROR frame becomes a BenchError."""
        frame = await self.next_frame()
        if isinstance(frame, Error):
            raise BenchError(f"client {self.index}: the server refused: {frame.code.name} {frame.text}")
        if not isinstance(frame, wanted):
            raise BenchError(f"client {self.index}: expected {wanted.__name__}, got {type(frame).__name__}")
        return frame

    def release(self, arrived: int) -> None:
        """Window mode: ``arrived`` of this sender's messages were seen, so as many may be sent."""
        self.in_flight -= arrived
        self.released.set()
