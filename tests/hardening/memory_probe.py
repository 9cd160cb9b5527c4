"""Measure the server's memory while one client refuses to read and another floods its room.

Not a test (it prints figures for docs/ROBUSTNESS.md): ``python -m tests.hardening.memory_probe
[MEGABYTES]`` starts ``chat-server`` in a subprocess, puts a sleeper (never reads), a reader
(reads everything) and a flooder (4 KB messages, MEGABYTES in all) in one room, and samples the
server's resident memory (psutil) until the reader has everything.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from chatlib.app.protocol import Message, Say, encode
from tests.app.conftest import FrameClient

LISTENING = re.compile(r"chat server listening on 127\.0\.0\.1:(\d+)")
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
    console = (folder / "console.txt").open("wb")
    command = [
        sys.executable,
        "-m",
        "chatlib.app.server",
        "--port",
        "0",
        "--data-dir",
        str(folder),
        "--log-dir",
        str(folder),
    ]
    options = subprocess.run([*command[:3], "--help"], capture_output=True, text=True).stdout
    if "--no-rate-limit" in options:  # the hardened server; an older one has no such options
        command += ["--no-rate-limit", "--idle-timeout", "600"]
    server = subprocess.Popen(
        command, stdout=console, stderr=console, env=os.environ | {"XDG_CONFIG_HOME": str(folder)}
    )
    while not (found := LISTENING.search((folder / "console.txt").read_text())):
        await asyncio.sleep(0.05)
    port = int(found.group(1))
    memory = psutil.Process(server.pid)
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
    server.terminate()
    server.wait(timeout=10)
    for line in (folder / "console.txt").read_text().splitlines():
        if "WARNING" in line or "ERROR" in line:
            print("server:", line[:200])


if __name__ == "__main__":
    asyncio.run(probe(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
