"""The server's fast paths give the same bytes as the plain ones: a read's SAYs relayed together, their
MESSAGE frames, history lines and log lines made in bulk, and idle connections served without a task."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from json.encoder import encode_basestring
from pathlib import Path

import orjson
import pytest

from chatlib.app.protocol import Message, MessageEncoder, Say, encode
from chatlib.app.protocol.history import HistoryEntry
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.server.console_budget import LineBudget
from chatlib.app.server.history import ChatHistory
from chatlib.app.server.limits import ServerLimits
from chatlib.app.server.storage import JsonLinesFile
from chatlib.app.shared.logfiles import ConversationLog
from tests.app.conftest import TIMEOUT, FrameClient

TEXTS = ["salut", 'un "guillemet" et un \\', "été à Paris ✓", "x" * 300, "\x1b[2J effacé ?"]


def test_encode_all_gives_each_message_the_bytes_encode_gives() -> None:
    encoder = MessageEncoder("alice", "#1f77b4")
    assert encoder.encode_all(1_700_000_000_123, TEXTS) == [
        encode(Message(1_700_000_000_123, "alice", "#1f77b4", text)) for text in TEXTS
    ]


async def test_record_messages_writes_what_record_writes_for_each(tmp_path: Path) -> None:
    one_by_one = ChatHistory(3, JsonLinesFile(tmp_path / "one_by_one.jsonl"))
    together = ChatHistory(3, JsonLinesFile(tmp_path / "together.jsonl"))
    for history in (one_by_one, together):
        history.keep("général")
    for text in TEXTS:
        one_by_one.record("général", HistoryEntry.message(17, "bob", "#123456", text))
    together.record_messages("général", 17, "bob", "#123456", TEXTS)
    assert together.recent("général") == one_by_one.recent("général")
    assert len(together.recent("général")) == 3
    for history in (one_by_one, together):
        assert history.file is not None
        await history.file.flush()
    expected = (tmp_path / "one_by_one.jsonl").read_bytes()
    assert (tmp_path / "together.jsonl").read_bytes() == expected
    assert expected.count(b"\n") == len(TEXTS)


def test_write_all_logs_each_event_as_write_does(tmp_path: Path) -> None:
    one_by_one = ConversationLog(tmp_path / "one_by_one.log")
    together = ConversationLog(tmp_path / "together.log")
    for text in TEXTS:
        one_by_one.write(text)
    together.write_all(TEXTS)
    for log in (one_by_one, together):
        log.close()
    lines = [(tmp_path / name).read_text().splitlines() for name in ("one_by_one.log", "together.log")]
    dated = len("2026-12-02 09:00:00 ")
    assert [line[dated:] for line in lines[1]] == [line[dated:] for line in lines[0]]
    assert lines[1][-1].endswith("␛[2J effacé ?")


async def test_take_some_lets_the_budget_through_and_counts_the_rest() -> None:
    now = [0.0]
    reports: list[int] = []
    budget = LineBudget(reports.append, per_second=3, clock=lambda: now[0])
    assert budget.take_some(2) == 2
    assert budget.take_some(5) == 1
    assert budget.take_some(4) == 0
    now[0] = 1.5
    assert budget.take_some(1) == 1
    assert reports == [4 + 4]


@pytest.fixture
async def unlimited_server() -> AsyncIterator[ChatServer]:
    """A server without rate limit (as the benchmark runs it), on port 0."""
    server = ChatServer(limits=ServerLimits(rate_limit=None))
    await server.start("127.0.0.1", 0)
    yield server
    async with asyncio.timeout(3 * TIMEOUT):
        await server.stop()


async def test_many_says_in_one_write_reach_the_room_in_order(unlimited_server: ChatServer) -> None:
    assert unlimited_server.address is not None
    alice, bob = [await FrameClient.connect(*unlimited_server.address) for _ in range(2)]
    await alice.hello("alice")
    await alice.enter("jeux")
    await bob.hello("bob")
    await bob.enter("jeux")
    await alice.next_frame()  # bob's arrival
    texts = [f"message {number}" for number in range(500)] + ["   "]  # a blank one is not relayed
    await alice.send_raw(b"".join(encode(Say(text)) for text in texts))
    received = [await bob.next_frame() for _ in range(500)]
    assert [(frame.pseudo, frame.text) for frame in received if isinstance(frame, Message)] == [
        ("alice", text) for text in texts[:500]
    ]
    await bob.expect_silence()
    assert [entry.text for entry in unlimited_server.history.recent("jeux")[-3:]] == [
        "message 497",
        "message 498",
        "message 499",
    ]
    for client in (alice, bob):
        await client.close()


async def test_idle_connections_are_served_without_a_task_each(unlimited_server: ChatServer) -> None:
    assert unlimited_server.address is not None
    tasks_before = len(asyncio.all_tasks())
    clients = [await FrameClient.connect(*unlimited_server.address) for _ in range(20)]
    for number, client in enumerate(clients):
        await client.hello(f"idle{number}")
    assert unlimited_server.connection_count == 20
    assert len(asyncio.all_tasks()) == tasks_before
    for client in clients:
        await client.close()


def test_history_lines_escape_text_as_orjson_does() -> None:
    code_points = [*range(0xD800), *range(0xE000, 0x110000, 97)]  # every character but the surrogates
    for start in range(0, len(code_points), 4096):
        text = "".join(map(chr, code_points[start : start + 4096]))
        assert encode_basestring(text).encode() == orjson.dumps(text)
