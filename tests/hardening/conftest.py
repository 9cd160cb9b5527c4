"""Fixtures for the hardening tests: a server with short limits, and two people chatting throughout.

Every adversarial test runs while ``alice`` and ``bob`` keep a conversation going (each line
answered before the next), and checks at the end that each received every line of the other,
in order, and that the conversation kept moving while the adversary did its worst.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from chatlib.app.protocol import Frame, Message, Ping, Pong
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.server.limits import ServerLimits
from chatlib.app.server.ratelimit import RateLimit
from chatlib.app.shared.logfiles import close_conversation_log, conversation_log
from tests.app.conftest import TIMEOUT, FrameClient

# Short enough that no test waits long, loose enough for a busy 2-core machine.
TEST_LIMITS = ServerLimits(
    max_connections=200,
    max_connections_per_ip=100,
    hello_timeout=0.6,
    idle_timeout=0.4,
    pong_timeout=0.4,
    max_queued_bytes=256 * 1024,
    max_queued_frames=5_000,
    rate_limit=RateLimit(per_second=200.0, burst=20, max_delayed=30),
    close_grace=2.0,
    shutdown_grace=1.0,
)
CONVERSATION_PAUSE = 0.02  # seconds between two rounds: about 50 lines a second each, under the limit


class Conversation:
    """Alice and bob take turns: each line is awaited by the other before the next is said."""

    def __init__(self, alice: FrameClient, bob: FrameClient) -> None:
        self.alice, self.bob = alice, bob
        self.rounds = 0
        self.others: dict[str, list[Frame]] = {"alice": [], "bob": []}  # what else each received
        self._stop = asyncio.Event()
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start chatting in the background."""
        self._task = asyncio.create_task(self._chat())

    async def _chat(self) -> None:
        while not self._stop.is_set():
            line = f"round {self.rounds}"
            await self.alice.say(f"alice: {line}")
            await self._expect(self.bob, "alice", f"alice: {line}")
            await self.bob.say(f"bob: {line}")
            await self._expect(self.alice, "bob", f"bob: {line}")
            async with self._progress:
                self.rounds += 1
                self._progress.notify_all()
            await asyncio.sleep(CONVERSATION_PAUSE)  # pacing only, to stay under the rate limit

    async def _expect(self, client: FrameClient, pseudo: str, text: str) -> None:
        """The next message from ``pseudo`` must be ``text``: nothing lost, nothing reordered."""
        while True:
            frame = await client.next_frame()
            if isinstance(frame, Ping):
                await client.send(Pong())
            elif isinstance(frame, Message) and frame.pseudo == pseudo:
                assert (
                    frame.text == text
                ), f"{client.welcome and client.welcome.pseudo} got {frame.text!r}, not {text!r}"
                return
            else:
                self.others["bob" if pseudo == "alice" else "alice"].append(frame)

    async def keeps_going(self, rounds: int = 3) -> None:
        """Wait until the conversation has gone ``rounds`` more rounds (it must not be stalled)."""
        async with asyncio.timeout(TIMEOUT):
            async with self._progress:
                target = self.rounds + rounds
                await self._progress.wait_for(lambda: self.rounds >= target or self._failed())

    def _failed(self) -> bool:
        return self._task is not None and self._task.done()

    async def finish(self) -> int:
        """Stop after the current round; re-raise what went wrong, if anything; return the rounds done."""
        self._stop.set()
        assert self._task is not None
        async with asyncio.timeout(TIMEOUT):
            await self._task
        assert self.rounds > 0
        return self.rounds


@asynccontextmanager
async def running_server(tmp_path: Path, **overrides: object) -> AsyncIterator[ChatServer]:
    """A server on 127.0.0.1:0 with TEST_LIMITS (some replaced), logging to ``tmp_path/logs``."""
    conversation = conversation_log("server", tmp_path / "logs")
    server = ChatServer(conversation, limits=replace(TEST_LIMITS, **overrides))  # type: ignore[arg-type]
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        async with asyncio.timeout(3 * TIMEOUT):
            await server.stop()
        close_conversation_log(conversation)


@pytest.fixture
async def server(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[ChatServer]:
    """A server with the test limits; ``@pytest.mark.limits(name=value)`` changes some of them."""
    marker = request.node.get_closest_marker("limits")
    async with running_server(tmp_path, **(marker.kwargs if marker else {})) as chat_server:
        yield chat_server


async def join(server: ChatServer, pseudo: str, room: str = "general") -> FrameClient:
    """A well-behaved client, greeted and in ``room``."""
    assert server.address is not None
    client = await FrameClient.connect(*server.address)
    await client.hello(pseudo)
    await client.enter(room)
    return client


@pytest.fixture
async def conversation(server: ChatServer) -> AsyncIterator[Conversation]:
    """Alice and bob chatting in ``general`` for the whole test; checked when it ends."""
    alice = await join(server, "alice")
    bob = await join(server, "bob")
    await alice.next_frame()  # bob's arrival
    chat = Conversation(alice, bob)
    chat.start()
    await chat.keeps_going()
    yield chat
    await chat.keeps_going()  # still chatting after the adversary
    await chat.finish()
    await alice.close()
    await bob.close()


async def adversary(server: ChatServer, local_ip: str = "127.0.0.1") -> FrameClient:
    """A connection that will break the rules, from ``local_ip`` (any 127.x.y.z is loopback)."""
    assert server.address is not None
    async with asyncio.timeout(TIMEOUT):
        reader, writer = await asyncio.open_connection(*server.address, local_addr=(local_ip, 0))
    return FrameClient(reader, writer)


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``limits`` marker used to change the test server's limits."""
    config.addinivalue_line("markers", "limits(**changes): ServerLimits fields to change for this test")
