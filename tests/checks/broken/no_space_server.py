"""A broken ii_4 server: it relays `IP:Port a dit: msg`, without the space before the colon."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

CLIENTS: dict[tuple[str, int], dict[str, Any]] = {}


async def start_server(host: str, port: int, show: Callable[[str], None] = print) -> asyncio.Server:
    """Serve on host:port; each connection is handled by `handle_client`."""

    async def handle_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ip, port = writer.get_extra_info("peername")[:2]
        CLIENTS[(ip, port)] = {"r": reader, "w": writer}
        try:
            await reader.read(1024)
            writer.write(f"Hello {ip}:{port}\n".encode())
            while data := await reader.read(1024):
                for address, client in CLIENTS.items():
                    if address != (ip, port):
                        client["w"].write(f"{ip}:{port} a dit: {data.decode()}\n".encode())
        finally:
            CLIENTS.pop((ip, port), None)
            writer.close()

    return await asyncio.start_server(handle_client, host, port)
