"""A broken ii_4 client: it waits for the user to type before it reads the server (no gather)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def run_client(
    host: str, port: int, read_line: Callable[[str], Awaitable[str]], show: Callable[[str], None] = print
) -> None:
    """Say Hello, then in turn: read a typed line, send it, show one line from the server."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"Hello")
    await writer.drain()
    try:
        while True:
            writer.write((await read_line("> ")).encode())
            await writer.drain()
            show((await reader.readline()).decode().rstrip("\n"))
    finally:
        writer.close()
