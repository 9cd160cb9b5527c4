"""A broken ii_6 server: pseudos and relaying work, but nobody is told when a client leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

CLIENTS: dict[tuple[str, int], dict[str, Any]] = {}


async def send_to_all(text: str, except_address: tuple[str, int] | None = None) -> None:
    """Send one line to every client but `except_address`."""
    for address, client in list(CLIENTS.items()):
        if address != except_address:
            client["w"].write(f"{text}\n".encode())


async def handle_client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show: Callable[[str], None] = print
) -> None:
    """Take the pseudo, announce it, relay messages; the bug: no `a quitté` announcement."""
    address = writer.get_extra_info("peername")[:2]
    try:
        pseudo = (await reader.read(1024)).decode().removeprefix("Hello|")
        CLIENTS[address] = {"r": reader, "w": writer, "pseudo": pseudo}
        await send_to_all(f"Annonce : {pseudo} a rejoint la chatroom")
        while data := await reader.read(1024):
            await send_to_all(f"{pseudo} a dit : {data.decode()}", except_address=address)
    except ConnectionError:
        pass
    finally:
        CLIENTS.pop(address, None)
        writer.close()
