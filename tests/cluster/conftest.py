"""Fixtures for the cluster tests: real nats-server processes on free loopback ports, chat nodes on port 0.

NATS starts once per test module (a second or less); each test uses its own pseudos and rooms,
so the users and history left by one test do not matter to the next.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from chatlib.app.cluster.nats_server import LocalNats
from chatlib.app.cluster.node import start_node
from chatlib.app.cluster.sharing import ClusterSharing
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.server.limits import ServerLimits
from tests.app.conftest import TIMEOUT, FrameClient, greet
from tests.server_process import LISTENING, START_TIMEOUT, STOP_TIMEOUT

NodeFactory = Callable[..., Awaitable[ChatServer]]
ClientFactory = Callable[..., Awaitable[FrameClient]]


@pytest.fixture(scope="module")
def nats_one() -> Iterator[LocalNats]:
    """One nats-server with JetStream, for the whole module."""
    with LocalNats(1) as nats:
        yield nats


@pytest.fixture
async def make_node() -> AsyncIterator[NodeFactory]:
    """Start chat nodes (ChatServer in this process, sharing through NATS); all stopped at the end."""
    nodes: list[ChatServer] = []

    async def start(urls: list[str], **options: object) -> ChatServer:
        sharing = ClusterSharing(urls, patience=float(options.pop("patience", 5.0)))  # type: ignore[arg-type]
        options.setdefault("limits", ServerLimits(rate_limit=None))  # the tests send faster than people
        node = await start_node("127.0.0.1", 0, sharing, **options)
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        async with asyncio.timeout(3 * TIMEOUT):
            await node.stop()


@pytest.fixture
async def connect() -> AsyncIterator[ClientFactory]:
    """Connect FrameClients to nodes; with pseudo (and room), also greet (and enter)."""
    clients: list[FrameClient] = []

    async def make_client(
        node: ChatServer, pseudo: str | None = None, room: str | None = None, token: str = ""
    ) -> FrameClient:
        assert node.address is not None
        client = await FrameClient.connect(*node.address)
        clients.append(client)
        await greet(client, pseudo, room, token)
        return client

    yield make_client
    for client in clients:
        await client.close()


async def eventually(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Wait until ``condition()`` holds (the other nodes' news takes a moment); fail after ``timeout``."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@dataclass
class NodeProcess:
    """A ``chat-server --cluster`` subprocess: its process, port and console output."""

    process: subprocess.Popen[bytes]
    port: int
    console: Path

    def output(self) -> str:
        """What the node printed so far (stdout and stderr)."""
        return self.console.read_text(errors="replace")


@asynccontextmanager
async def node_process(tmp_path: Path, urls: str, *options: str) -> AsyncIterator[NodeProcess]:
    """``chat-server --port 0 --cluster URLS OPTIONS`` as a real process; killed at the end if still running."""
    console = tmp_path / f"node-{time.monotonic_ns()}.txt"
    env = os.environ | {"XDG_CONFIG_HOME": str(tmp_path / "no-config")}
    command = [sys.executable, "-m", "chatlib.app.server", "--port", "0", "--no-rate-limit", "--cluster", urls]
    command += ["--data-dir", str(tmp_path / "data"), "--log-dir", str(tmp_path / "logs"), *options]
    with console.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=output, cwd=tmp_path, env=env)
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not (found := LISTENING.search(console.read_text(errors="replace"))):
                assert process.poll() is None, console.read_text(errors="replace")
                await asyncio.sleep(0.05)  # waiting for a process to start: nothing to await instead
        yield NodeProcess(process, int(found.group(1)), console)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=STOP_TIMEOUT)
