"""History over loopback: recorded per room, replayed on entry, appended to disk, kept across restarts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from chatlib.app.protocol import Announcement, Closing, Message
from chatlib.app.protocol.history import HistoryEntry
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.server.persistence import HISTORY_FILE, USERS_FILE
from tests.app.conftest import TIMEOUT, ClientFactory, FrameClient

ServerStarter = Callable[..., Awaitable[ChatServer]]


@pytest.fixture
async def saving_server(tmp_path: Path) -> AsyncIterator[ServerStarter]:
    """Start ChatServers keeping their data in ``tmp_path/data`` (stopped at the end if still running)."""
    servers: list[ChatServer] = []

    async def start(**options: object) -> ChatServer:
        server = ChatServer(data_dir=tmp_path / "data", **options)  # type: ignore[arg-type]
        await server.start("127.0.0.1", 0)
        servers.append(server)
        return server

    yield start
    for server in servers:
        async with asyncio.timeout(3 * TIMEOUT):
            await server.stop()


async def joined(server: ChatServer, pseudo: str, room: str, token: str = "") -> FrameClient:
    """A client of ``server`` that has said HELLO and entered ``room``."""
    assert server.address is not None
    client = await FrameClient.connect(*server.address)
    await client.hello(pseudo, token)
    await client.enter(room)
    return client


async def say_and_sync(speaker: FrameClient, text: str) -> None:
    """``speaker`` says ``text``, then waits until the server has handled it."""
    await speaker.say(text)
    await speaker.sync()


def texts(client: FrameClient) -> list[str]:
    """The texts of the history the client received on entering its room, oldest first."""
    assert client.history is not None
    return [entry.text for entry in client.history.entries]


async def test_a_late_joiner_gets_the_rooms_history_with_times_and_colors(connect: ClientFactory) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    carol = await connect("carol", "general")
    await alice.next_frame()  # bob's arrival
    await alice.say("salut")
    said = await bob.next_frame()
    await carol.say("ailleurs")
    await bob.close()
    await alice.next_frame()  # bob's departure

    dave = await connect("dave", "jeux")
    assert dave.history is not None and dave.history.room == "jeux"
    assert texts(dave) == [
        "Annonce : alice a rejoint la chatroom",
        "Annonce : bob a rejoint la chatroom",
        "salut",
        "Annonce : bob a quitté la chatroom",
    ]
    assert isinstance(said, Message) and alice.welcome is not None
    assert dave.history.entries[2] == HistoryEntry.message(
        said.time_ms, "alice", alice.welcome.color, "salut"
    )


async def test_only_the_last_entries_are_replayed(saving_server: ServerStarter) -> None:
    server = await saving_server(history_length=3)
    alice = await joined(server, "alice", "jeux")
    for number in range(4):
        await alice.say(f"m{number}")
    await say_and_sync(alice, "m4")
    bob = await joined(server, "bob", "jeux")
    assert texts(bob) == ["m2", "m3", "m4"]
    await alice.close(), await bob.close()


async def test_history_and_known_users_survive_a_restart(
    saving_server: ServerStarter, tmp_path: Path
) -> None:
    first = await saving_server()
    alice = await joined(first, "alice", "jeux")
    assert alice.welcome is not None
    await say_and_sync(alice, "avant la panne")
    await first.stop()
    assert await alice.expect_closed() == [Closing("server shutting down")]

    second = await saving_server()
    bob = await joined(second, "bob", "jeux")
    assert texts(bob) == [
        "Annonce : alice a rejoint la chatroom",
        "avant la panne",
        "Annonce : alice a quitté la chatroom",
    ]
    assert second.address is not None
    again = await FrameClient.connect(*second.address)
    welcome = await again.hello("alice", alice.welcome.token)
    assert (welcome.returning, welcome.user_id, welcome.color) == (
        True,
        alice.welcome.user_id,
        alice.welcome.color,
    )
    await again.enter_quietly("jeux")
    back = await bob.next_frame()
    assert isinstance(back, Announcement) and back.text == "alice est de retour !"
    users_file = (tmp_path / "data" / USERS_FILE).read_text(encoding="utf-8")
    assert alice.welcome.token not in users_file and '"pseudo":"alice"' in users_file
    await bob.close(), await again.close()


async def test_messages_are_buffered_then_appended_not_rewritten(
    saving_server: ServerStarter, tmp_path: Path
) -> None:
    server = await saving_server(flush_interval=3600)  # only explicit saves write
    path = tmp_path / "data" / HISTORY_FILE
    alice = await joined(server, "alice", "jeux")
    await say_and_sync(alice, "un")
    await server.save()
    before = path.stat()
    content = path.read_bytes()
    bob = await joined(server, "bob", "jeux")
    await alice.next_frame()  # bob's arrival
    await alice.say("deux")
    assert await bob.next_frame() is not None
    assert path.stat().st_size == before.st_size  # relayed, but no disk I/O on the way
    await server.save()
    after = path.stat()
    assert after.st_ino == before.st_ino and after.st_size > before.st_size
    grown = path.read_bytes()
    assert grown.startswith(content)
    added = [json.loads(line) for line in grown[len(content) :].splitlines()]
    assert [(record["room"], record["kind"], record["text"]) for record in added] == [
        ("jeux", "announce", "Annonce : bob a rejoint la chatroom"),
        ("jeux", "message", "deux"),
    ]
    await alice.close(), await bob.close()


async def test_the_server_saves_by_itself_every_short_interval(
    saving_server: ServerStarter, tmp_path: Path
) -> None:
    server = await saving_server(flush_interval=0.05)
    alice = await joined(server, "alice", "jeux")
    await say_and_sync(alice, "tout seul")
    path = tmp_path / "data" / HISTORY_FILE
    async with asyncio.timeout(TIMEOUT):
        while not path.exists() or b"tout seul" not in path.read_bytes():
            await asyncio.sleep(0.05)  # a file gives no event to wait on: look again shortly
    await alice.close()


async def test_a_torn_last_line_is_ignored_at_start(saving_server: ServerStarter, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    good = {"room": "jeux"} | HistoryEntry.message(1_700_000_000_000, "zoe", "#2ca02c", "intact").to_json()
    (data / HISTORY_FILE).write_text(json.dumps(good) + '\n{"room": "jeux", "kind": "mess', encoding="utf-8")
    server = await saving_server()
    alice = await joined(server, "alice", "jeux")
    assert texts(alice) == ["intact"]
    await say_and_sync(alice, "après")
    await server.stop()
    restarted = await saving_server()
    bob = await joined(restarted, "bob", "jeux")
    assert texts(bob)[:3] == ["intact", "Annonce : alice a rejoint la chatroom", "après"]
    await alice.close(), await bob.close()
