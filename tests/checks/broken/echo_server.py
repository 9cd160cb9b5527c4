"""A broken ii_4 server: it relays each message to everyone, the sender included."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

CLIENTS: dict[tuple[str, int], dict[str, Any]] = {}


async def handle_client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show: Callable[[str], None] = print
) -> None:
    """Answer Hello, then send each message to every client (the bug: the sender too)."""
    ip, port = writer.get_extra_info("peername")[:2]
    CLIENTS[(ip, port)] = {"r": reader, "w": writer}
    try:
        await reader.read(1024)
        writer.write(f"Hello {ip}:{port}\n".encode())
        while data := await reader.read(1024):
            for client in CLIENTS.values():
                client["w"].write(f"{ip}:{port} a dit : {data.decode()}\n".encode())
    finally:
        CLIENTS.pop((ip, port), None)
        writer.close()
