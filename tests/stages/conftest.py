"""Shared fixtures of the Part II tests: a stage's server on port 0, raw clients, a clean CLIENTS."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import ModuleType

import pytest

from chatlib.notebook.background import BackgroundServer, serve_in_background, stop_all

STAGES = ("ii_2", "ii_3", "ii_4", "ii_5", "ii_6")
TIMEOUT = 5.0


def stage_module(stage: str, part: str) -> ModuleType:
    """`chatlib.stages.<stage>.<part>`, e.g. stage_module("ii_4", "server")."""
    return importlib.import_module(f"chatlib.stages.{stage}.{part}")


@pytest.fixture(autouse=True)
def empty_clients() -> Iterator[None]:
    """Every test starts and ends with the stages' CLIENTS dictionaries empty."""
    for stage in STAGES:
        getattr(stage_module(stage, "server"), "CLIENTS", {}).clear()
    yield
    for stage in STAGES:
        getattr(stage_module(stage, "server"), "CLIENTS", {}).clear()


Serve = Callable[[str], Awaitable[BackgroundServer]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a stage's server on 127.0.0.1, port 0; everything started is stopped at the end."""

    async def start(stage: str) -> BackgroundServer:
        async with asyncio.timeout(TIMEOUT):
            return await serve_in_background(stage_module(stage, "server").start_server, port=0)

    yield start
    async with asyncio.timeout(3 * TIMEOUT):
        await stop_all()


class RawClient:
    """A client speaking the stages' text protocol over a plain TCP connection, as `nc` does."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        ip, port = writer.get_extra_info("sockname")[:2]
        self.address = f"{ip}:{port}"

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        """Open a connection to the server on 127.0.0.1:port."""
        async with asyncio.timeout(TIMEOUT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: str | bytes) -> None:
        """Send these exact bytes (text is UTF-8 encoded), nothing added."""
        self.writer.write(data.encode() if isinstance(data, str) else data)
        async with asyncio.timeout(TIMEOUT):
            await self.writer.drain()

    async def line(self) -> str:
        """The next line from the server, without its newline."""
        async with asyncio.timeout(TIMEOUT):
            data = await self.reader.readline()
        assert data.endswith(b"\n"), f"expected a line, got {data!r}"
        return data.decode()[:-1]

    async def rest(self) -> str:
        """Everything the server still sends until it closes the connection."""
        async with asyncio.timeout(TIMEOUT):
            return (await self.reader.read()).decode()

    async def close(self) -> None:
        """Hang up."""
        self.writer.close()
        try:
            async with asyncio.timeout(TIMEOUT):
                await self.writer.wait_closed()
        except ConnectionError:
            pass


Connect = Callable[[int], Awaitable["RawClient"]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Open raw clients to a port; they are all closed at the end."""
    clients: list[RawClient] = []

    async def open_client(port: int) -> RawClient:
        client = await RawClient.connect(port)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await client.close()
