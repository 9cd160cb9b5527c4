"""The chat-server command under steady traffic: SIGTERM loses nothing, SIGKILL at most a flush interval.

The server runs as a real subprocess (``python -m chatlib.app.server``) on port 0, with its data
folder in a temporary directory; alice talks, bob listens, over loopback.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from contextlib import suppress
from pathlib import Path

from chatlib.app.protocol import Closing, Message
from chatlib.app.server.chat_server import DEFAULT_FLUSH_INTERVAL
from chatlib.app.server.persistence import HISTORY_FILE, USERS_FILE
from chatlib.app.server.storage import read_json_lines
from tests.app.conftest import TIMEOUT, ConnectionClosed, FrameClient
from tests.server_process import server_process

CRASH_MARGIN = 1.0  # seconds on top of the flush interval, for a busy 2-core machine


async def join(port: int, pseudo: str) -> FrameClient:
    """A client greeted and in ``general``."""
    client = await FrameClient.connect("127.0.0.1", port)
    await client.hello(pseudo)
    await client.enter("general")
    return client


def saved_messages(data_dir: Path) -> list[str]:
    """The texts of the messages in the history file, checking that every whole line parses."""
    raw = (data_dir / HISTORY_FILE).read_bytes()
    lines = raw.split(b"\n")
    for line in lines[:-1]:
        json.loads(line)  # a corrupt entry fails the test here
    # whatever follows the last newline would be a torn write: read_json_lines skips it
    return [
        record["text"] for record in read_json_lines(data_dir / HISTORY_FILE) if record["kind"] == "message"
    ]


async def test_sigterm_tells_the_clients_and_loses_nothing(tmp_path: Path) -> None:
    async with server_process(tmp_path) as (process, port):
        alice, bob = await join(port, "alice"), await join(port, "bob")
        sent = [f"message {number}" for number in range(300)]
        for text in sent:
            await alice.say(text)
        received = []
        while len(received) < len(sent):
            frame = await bob.next_frame()
            if isinstance(frame, Message):
                received.append(frame.text)
        assert received == sent
        process.send_signal(signal.SIGTERM)
        assert (await alice.expect_closed())[-1] == Closing("server shutting down")
        assert (await bob.expect_closed())[-1] == Closing("server shutting down")
        assert await asyncio.to_thread(process.wait, TIMEOUT) == 0
    assert saved_messages(tmp_path / "data") == sent
    assert [record["pseudo"] for record in read_json_lines(tmp_path / "data" / USERS_FILE)] == [
        "alice",
        "bob",
    ]


async def test_after_sigkill_under_traffic_a_restart_has_all_but_the_last_flush(tmp_path: Path) -> None:
    received_at: dict[str, float] = {}
    async with server_process(tmp_path) as (process, port):
        alice, bob = await join(port, "alice"), await join(port, "bob")

        async def listen() -> None:
            with suppress(ConnectionClosed, ConnectionResetError):
                while True:
                    frame = await bob.next_frame()
                    if isinstance(frame, Message):
                        received_at[frame.text] = time.monotonic()

        async def talk() -> None:
            with suppress(ConnectionError):
                for number in range(1_000_000):
                    await alice.say(f"message {number}")
                    await asyncio.sleep(0.002)  # steady traffic, a few hundred messages a second

        tasks = [asyncio.create_task(listen()), asyncio.create_task(talk())]
        async with asyncio.timeout(TIMEOUT):
            while len(received_at) < 300 or time.monotonic() - min(received_at.values()) < 2.5:
                await asyncio.sleep(0.05)
        killed_at = time.monotonic()
        process.kill()
        await asyncio.to_thread(process.wait, TIMEOUT)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await alice.close()
        await bob.close()

    saved = saved_messages(tmp_path / "data")
    assert saved == [
        f"message {number}" for number in range(len(saved))
    ]  # in order, no gap, no corrupt entry
    old_enough = [
        text for text, when in received_at.items() if when < killed_at - DEFAULT_FLUSH_INTERVAL - CRASH_MARGIN
    ]
    assert len(old_enough) > 100
    assert set(old_enough) <= set(saved)

    async with server_process(tmp_path) as (process, port):
        carol = await FrameClient.connect("127.0.0.1", port)
        await carol.hello("carol")
        history = await carol.enter_quietly("general")
        replayed = [entry.text for entry in history.entries if entry.kind == "message"]
        assert replayed and replayed == saved[-len(replayed) :]
        process.send_signal(signal.SIGTERM)
        await carol.expect_closed()
        assert await asyncio.to_thread(process.wait, TIMEOUT) == 0
