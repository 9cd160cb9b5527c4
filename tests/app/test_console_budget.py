"""The console's line per message: every one at a human pace, a count of the rest under a flood."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest

from chatlib.app.protocol import Message, Say, encode
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.server.console_budget import LineBudget
from chatlib.app.server.limits import ServerLimits
from tests.app.conftest import FrameClient

TIMEOUT = 5.0
FLOOD = 300  # messages sent at once: well over the console's 20 lines a second


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_lines_over_the_budget_are_counted_and_reported_once_the_second_is_over() -> None:
    clock, reports = FakeClock(), []
    budget = LineBudget(reports.append, per_second=3, clock=clock)
    assert [budget.take() for _ in range(5)] == [True, True, True, False, False]
    clock.now += 0.5
    assert budget.take() is False
    assert reports == [], "reported only when the second is over"
    clock.now += 0.6
    assert budget.take() is True, "a new second, a new budget"
    assert reports == [3]


async def test_the_report_comes_by_itself_when_the_flood_stops() -> None:
    reported = asyncio.Event()
    counts: list[int] = []

    def report(count: int) -> None:
        counts.append(count)
        reported.set()

    clock = FakeClock()
    budget = LineBudget(report, per_second=1, clock=clock)
    clock.now += 0.99  # the timer is set for the end of this second: 10 ms from now
    assert [budget.take() for _ in range(4)] == [True, False, False, False]
    async with asyncio.timeout(TIMEOUT):
        await reported.wait()  # the window's timer, nobody calling take()
    assert counts == [3]


async def test_at_a_human_pace_every_message_has_its_line() -> None:
    clock, reports = FakeClock(), []
    budget = LineBudget(reports.append, per_second=2, clock=clock)
    for _ in range(10):
        assert budget.take()
        clock.now += 0.5
    assert reports == []


async def test_a_flood_gets_a_few_lines_then_a_count_and_nothing_is_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="chatlib.app.server")
    server = ChatServer(limits=replace(ServerLimits(), rate_limit=None))
    host, port = await server.start("127.0.0.1", 0)
    alice, bob = await FrameClient.connect(host, port), await FrameClient.connect(host, port)
    await alice.hello("alice")
    await alice.enter("jeux")
    await bob.hello("bob")
    await bob.enter("jeux")
    await alice.next_frame()  # bob's arrival
    await bob.send_raw(b"".join(encode(Say(f"flood {n}")) for n in range(FLOOD)))
    received = [await alice.next_frame() for _ in range(FLOOD)]
    assert [frame.text for frame in received if isinstance(frame, Message)] == [
        f"flood {n}" for n in range(FLOOD)
    ]
    for client in (alice, bob):
        await client.close()
    async with asyncio.timeout(TIMEOUT):
        await server.stop()  # reports what the current second held back
    console = [
        record.getMessage() for record in caplog.records if record.name.startswith("chatlib.app.server")
    ]
    shown = [line for line in console if line.startswith("message received from bob")]
    counted = [int(line.split()[0]) for line in console if "not shown one by one" in line]
    assert len(shown) < FLOOD and counted, console
    assert len(shown) + sum(counted) == FLOOD
