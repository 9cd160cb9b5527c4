"""Measure the server's memory while one client refuses to read and another floods its room.

Not a test (it prints figures for docs/ROBUSTNESS.md): ``python -m tests.hardening.memory_probe
[MEGABYTES]`` starts ``chat-server`` in a subprocess, puts a sleeper (never reads), a reader
(reads everything) and a flooder (4 KB messages, MEGABYTES in all) in one room, and samples the
server's resident memory (psutil) until the reader has everything.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import psutil

from chatlib.app.protocol import Message, Say, encode
from tests.app.conftest import FrameClient
from tests.server_process import server_process

TEXT = "x" * 4000


async def client(port: int, pseudo: str) -> FrameClient:
    """A client greeted and in the room ``flood``."""
    joined = await FrameClient.connect("127.0.0.1", port)
    await joined.hello(pseudo)
    await joined.enter("flood")
    return joined


async def probe(megabytes: int) -> None:
    """Run the flood and print the server's memory figures."""
    folder = Path(tempfile.mkdtemp())
    async with server_process(folder, "--idle-timeout", "600") as (server, port):
        await flood(server.pid, port, megabytes)
    for console in folder.glob("console-*.txt"):
        for line in console.read_text().splitlines():
            if "WARNING" in line or "ERROR" in line:
                print("server:", line[:200])


async def flood(server_pid: int, port: int, megabytes: int) -> None:
    """Put the sleeper, the reader and the flooder in a room, flood it, and print the memory figures."""
    memory = psutil.Process(server_pid)
    sleeper = await client(port, "sleeper")
    reader = await client(port, "reader")
    flooder = await client(port, "flooder")
    baseline = memory.memory_info().rss
    peak = baseline
    messages = megabytes * 1_000_000 // len(TEXT)
    received = 0

    async def read_all() -> None:
        nonlocal received
        while received < messages:
            frame = await reader.next_frame(timeout=60)
            received += isinstance(frame, Message) and frame.text == TEXT

    reading = asyncio.create_task(read_all())
    started = time.perf_counter()
    batch = encode(Say(TEXT)) * 100
    for _ in range(messages // 100):
        flooder.writer.write(batch)
        await flooder.writer.drain()
        peak = max(peak, memory.memory_info().rss)
    while not reading.done() and time.perf_counter() - started < 120:
        await asyncio.wait({reading}, timeout=0.1)
        peak = max(peak, memory.memory_info().rss)
    elapsed = time.perf_counter() - started
    print(
        f"{megabytes} MB flooded to a room with one client that never reads, in {elapsed:.1f} s: "
        f"server RSS {baseline / 2**20:.1f} MiB before, peak {peak / 2**20:.1f} MiB "
        f"(+{(peak - baseline) / 2**20:.1f} MiB); the reading client got {received} of {messages}"
    )
    del sleeper


if __name__ == "__main__":
    asyncio.run(probe(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
