"""The ``chat-server`` command as a real subprocess for tests: started on port 0, its port read off its console."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

LISTENING = re.compile(r"chat server listening on 127\.0\.0\.1:(\d+)")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


@asynccontextmanager
async def server_process(tmp_path: Path, *options: str) -> AsyncIterator[tuple[subprocess.Popen[bytes], int]]:
    """``chat-server --port 0 --no-rate-limit OPTIONS`` with its data in ``tmp_path/data`` and its logs
    in ``tmp_path/logs`` (no user config); yields the process and its port, and kills it at the end."""
    console = tmp_path / f"console-{time.monotonic_ns()}.txt"
    env = os.environ | {"XDG_CONFIG_HOME": str(tmp_path / "no-config")}
    command = [sys.executable, "-m", "chatlib.app.server", "--port", "0", "--no-rate-limit"]
    command += ["--data-dir", str(tmp_path / "data"), "--log-dir", str(tmp_path / "logs"), *options]
    with console.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=output, cwd=tmp_path, env=env)
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not (found := LISTENING.search(console.read_text(errors="replace"))):
                assert process.poll() is None, console.read_text(errors="replace")
                await asyncio.sleep(0.05)  # waiting for a process to start: nothing to await instead
        yield process, int(found.group(1))
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=STOP_TIMEOUT)
