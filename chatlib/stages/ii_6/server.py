"""Stage ii_6, server: a client that leaves is removed and everyone left is told.

When the server itself stops, nobody has left: each client is told the server is stopping.

Run it with `python -m chatlib.stages.ii_6.server [-a ADDRESS] [-p PORT]`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from chatlib.stages.cli import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    clean_exit,
    parse_address,
    printable,
    quiet_cancelled_connections,
)

Address = tuple[str, int]

CLIENTS: dict[Address, dict[str, Any]] = {}
"""The clients in the chat room by (IP, port): reader "r", writer "w" and "pseudo"."""

HELLO_ERROR = "Error: the first message must be Hello|<PSEUDO>"
UTF8_ERROR = "Error: that message was not valid UTF-8 text; it was not sent"
SERVER_STOPPING = "Annonce : le serveur s'arrête"


def decode_message(data: bytes) -> str:
    """The text of one message: UTF-8, minus one trailing newline (nc adds one). Raises UnicodeDecodeError."""
    text = data.decode("utf-8")
    for line_ending in ("\r\n", "\n"):
        if text.endswith(line_ending):
            return text[: -len(line_ending)]
    return text


def parse_hello(message: str) -> str | None:
    """The pseudo in a `Hello|<PSEUDO>` greeting, or None if the message is not one."""
    greeting, _, pseudo = message.partition("|")
    pseudo = pseudo.strip()
    if greeting != "Hello" or not pseudo:
        return None
    return pseudo


async def send_line(writer: asyncio.StreamWriter, text: str) -> None:
    """Send one line to one client; if that client has just gone, its own handler cleans up."""
    try:
        writer.write(f"{text}\n".encode())
        await writer.drain()
    except ConnectionError:
        pass


async def send_to_all(text: str, *, except_address: Address | None = None) -> None:
    """Send one line to every client in the room, but not to `except_address`."""
    for address, client in list(CLIENTS.items()):
        if address != except_address:
            await send_line(client["w"], text)


async def read_pseudo(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show: Callable[[str], None]
) -> str | None:
    """Read the client's first message and return its pseudo, or None after telling it what was wrong."""
    ip, port = writer.get_extra_info("peername")[:2]
    data = await reader.read(1024)
    if not data:
        show(f"{ip}:{port} left before saying Hello")
        return None
    try:
        pseudo = parse_hello(decode_message(data))
    except UnicodeDecodeError:
        pseudo = None
    if pseudo is None:
        show(f"Rejected {ip}:{port}: its first message was not Hello|<PSEUDO>")
        await send_line(writer, HELLO_ERROR)
    return pseudo


async def handle_client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show: Callable[[str], None] = print
) -> None:
    """Serve one client: take its pseudo, announce it, relay its messages, announce its departure."""
    address: Address = writer.get_extra_info("peername")[:2]
    ip, port = address
    try:
        pseudo = await read_pseudo(reader, writer, show)
        if pseudo is None:
            return
        if address not in CLIENTS:
            CLIENTS[address] = {"r": reader, "w": writer, "pseudo": pseudo}
        show(printable(f"{ip}:{port} joined as {pseudo}"))
        await send_to_all(f"Annonce : {pseudo} a rejoint la chatroom")
        while data := await reader.read(1024):
            try:
                message = decode_message(data)
            except UnicodeDecodeError:
                show(f"Dropped a message from {ip}:{port}: not valid UTF-8")
                await send_line(writer, UTF8_ERROR)
                continue
            show(printable(f"Message received from {ip}:{port} : {message}"))
            await send_to_all(f"{pseudo} a dit : {message}", except_address=address)
    except ConnectionError:
        pass  # the client vanished: it leaves like any other, below
    except asyncio.CancelledError:
        # The server is stopping (Ctrl+C): no departure to announce, but this client must know why it ends.
        CLIENTS.pop(address, None)
        writer.write(f"{SERVER_STOPPING}\n".encode())
        raise
    finally:
        if address in CLIENTS:
            pseudo = CLIENTS.pop(address)["pseudo"]
            show(printable(f"{ip}:{port} ({pseudo}) left"))
            await send_to_all(f"Annonce : {pseudo} a quitté la chatroom")
        writer.close()


async def start_server(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, show: Callable[[str], None] = print
) -> asyncio.Server:
    """Start serving the chat room on host:port (0: any free port) and return the running server."""
    server = await asyncio.start_server(functools.partial(handle_client, show=show), host, port)
    ip, port = server.sockets[0].getsockname()[:2]
    show(f"Serving on {ip}:{port}")
    return server


async def serve_forever(host: str, port: int) -> None:
    """Serve until interrupted (Ctrl+C)."""
    quiet_cancelled_connections()
    server = await start_server(host, port)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """The command line: parse the address, serve, exit cleanly on Ctrl+C."""
    args = parse_address("Stage ii_6 chat server.", argv)
    with clean_exit():
        asyncio.run(serve_forever(args.address, args.port))


if __name__ == "__main__":
    main()
