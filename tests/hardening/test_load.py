"""A bounded load test: 1,000 concurrent connections in one room, and a message reaches them all.

The clients do not decode what they receive (that would make the test, not the server, the
bottleneck): each scans its raw bytes for the ENTERED frame, then for the marker message.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from chatlib.app.protocol import EnterRoom, Hello, RoomEntered, Say, encode
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.server.limits import ServerLimits
from chatlib.app.server.main import allow_open_files
from chatlib.app.shared.logfiles import close_conversation_log, conversation_log

CLIENTS = 1000
ROOM = "general"
ENTERED = encode(RoomEntered(ROOM))
MARKER = "the marker that everyone must see"
DEADLINE = 60.0  # seconds for the whole test, on a slow machine; it takes a few here


class RawClient:
    """One connection that scans the bytes it receives instead of decoding them."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self._tail = b""

    async def wait_for(self, pattern: bytes) -> None:
        """Read until ``pattern`` has been received (it may straddle two reads)."""
        while True:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("the server closed the connection")
            window = self._tail + data
            found = window.find(pattern)
            if found >= 0:
                self._tail = window[found + len(pattern) :]
                return
            self._tail = window[-len(pattern) :]


async def connect(port: int, number: int) -> RawClient:
    """Connect, greet and enter the room in one write, then wait until the server confirms the entry."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode(Hello(f"user{number}")) + encode(EnterRoom(ROOM)))
    client = RawClient(reader, writer)
    await client.wait_for(ENTERED)
    return client


async def test_a_thousand_connections_all_receive_a_message(tmp_path: Path) -> None:
    allow_open_files(4 * CLIENTS)  # each connection takes a descriptor at each end, both in this process
    conversation = conversation_log("server", tmp_path / "logs")
    limits = ServerLimits(
        max_connections=CLIENTS + 10,
        max_connections_per_ip=CLIENTS + 10,
        rate_limit=None,
        connect_rate=None,
        registration_rate=None,
    )
    server = ChatServer(conversation, limits=limits)
    _, port = await server.start("127.0.0.1", 0)
    clients: list[RawClient] = []
    try:
        async with asyncio.timeout(DEADLINE):
            started = time.perf_counter()
            for first in range(0, CLIENTS, 100):  # in waves, so the listen backlog never overflows
                clients += await asyncio.gather(
                    *(connect(port, number) for number in range(first, first + 100))
                )
            connected = time.perf_counter() - started
            sender, receivers = clients[0], clients[1:]
            sender.writer.write(encode(Say(MARKER)))
            await asyncio.gather(*(client.wait_for(MARKER.encode()) for client in receivers))
            print(
                f"{CLIENTS} clients connected and in the room in {connected:.1f} s; "
                f"message seen by all in {time.perf_counter() - started - connected:.2f} s"
            )
        assert len(receivers) == CLIENTS - 1
    finally:
        for client in clients:
            client.writer.close()
        await server.stop()
        close_conversation_log(conversation)
