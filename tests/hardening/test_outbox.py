"""The per-client outbox on a real socket pair: one write per turn, order kept, bounds enforced."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from chatlib.app.server.outbox import Outbox

SMALL_BUFFER = 4096  # kernel buffers this small make the transport's own buffer fill quickly


@pytest.fixture
async def pair() -> AsyncIterator[tuple[asyncio.StreamWriter, socket.socket]]:
    """A StreamWriter on one end of a socket pair, and the other end (read by hand, or not at all)."""
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    theirs.setblocking(False)
    _, writer = await asyncio.open_connection(sock=ours)
    yield writer, theirs
    writer.transport.abort()
    theirs.close()


async def read_exactly(sock: socket.socket, size: int) -> bytes:
    """Read ``size`` bytes from the other end."""
    loop = asyncio.get_running_loop()
    received = bytearray()
    async with asyncio.timeout(5):
        while len(received) < size:
            received += await loop.sock_recv(sock, size - len(received))
    return bytes(received)


async def test_frames_of_one_turn_leave_in_order(pair: tuple[asyncio.StreamWriter, socket.socket]) -> None:
    writer, theirs = pair
    overflows: list[str] = []
    outbox = Outbox(writer, 1 << 20, 1000, overflows.append)
    for number in range(5):
        outbox.send(b"frame %d;" % number)
    assert await read_exactly(theirs, 40) == b"frame 0;frame 1;frame 2;frame 3;frame 4;"
    assert overflows == []


async def test_a_slow_reader_gets_everything_in_order_within_the_bounds(
    pair: tuple[asyncio.StreamWriter, socket.socket],
) -> None:
    writer, theirs = pair
    overflows: list[str] = []
    outbox = Outbox(writer, 1 << 20, 100_000, overflows.append)
    frames = [b"%07d|" % number for number in range(50_000)]  # 400 KB: far more than the buffers hold
    for start in range(0, len(frames), 100):
        for frame in frames[start : start + 100]:
            outbox.send(frame)
        await asyncio.sleep(0)  # let the turn end: one write per turn
    assert outbox.queued_bytes > 64 * 1024  # the reader has not read yet: the backlog holds the rest
    assert await read_exactly(theirs, 400_000) == b"".join(frames)
    assert outbox.queued_bytes == 0
    assert overflows == []


@pytest.mark.parametrize(
    ("max_bytes", "max_frames", "reason"),
    [
        (100_000, 1_000_000, "more than 100000 bytes waiting to be read"),
        (1 << 30, 500, "more than 500 frames waiting to be read"),
    ],
)
async def test_a_client_that_does_not_read_overflows_once(
    pair: tuple[asyncio.StreamWriter, socket.socket], max_bytes: int, max_frames: int, reason: str
) -> None:
    writer, _ = pair
    reasons: list[str] = []
    outbox = Outbox(writer, max_bytes, max_frames, reasons.append)
    for _ in range(200):
        for _ in range(50):
            outbox.send(b"x" * 20)
        await asyncio.sleep(0)
        if reasons:
            break
    assert reasons == [reason]
    outbox.close(b"", grace=0.01)
    assert outbox.queued_bytes <= writer.transport.get_write_buffer_limits()[1] + 1000
