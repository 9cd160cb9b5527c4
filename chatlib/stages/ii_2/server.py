"""Stage ii_2, server: print what a client sent, answer `Hello {IP}:{Port}`, hang up.

Run it with `python -m chatlib.stages.ii_2.server [-a ADDRESS] [-p PORT]`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable

from chatlib.stages.cli import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    clean_exit,
    parse_address,
    printable,
    quiet_cancelled_connections,
)

UTF8_ERROR = "Error: that message was not valid UTF-8 text; it was not sent"


def decode_message(data: bytes) -> str:
    """The text of one message: UTF-8, minus one trailing newline (nc adds one). Raises UnicodeDecodeError."""
    text = data.decode("utf-8")
    for line_ending in ("\r\n", "\n"):
        if text.endswith(line_ending):
            return text[: -len(line_ending)]
    return text


async def send_line(writer: asyncio.StreamWriter, text: str) -> None:
    """Send one line to one client; if that client has just gone, its own handler cleans up."""
    try:
        writer.write(f"{text}\n".encode())
        await writer.drain()
    except ConnectionError:
        pass


async def greet(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show: Callable[[str], None]
) -> bool:
    """Read the client's first message, its Hello, and answer `Hello {IP}:{Port}`; False if it did not."""
    ip, port = writer.get_extra_info("peername")[:2]
    data = await reader.read(1024)
    if not data:
        show(f"{ip}:{port} left before saying Hello")
        return False
    try:
        message = decode_message(data)
    except UnicodeDecodeError:
        show(f"Rejected {ip}:{port}: its first message was not valid UTF-8")
        await send_line(writer, UTF8_ERROR)
        return False
    show(printable(f"Message received from {ip}:{port} : {message}"))
    await send_line(writer, f"Hello {ip}:{port}")
    return True


async def handle_client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show: Callable[[str], None] = print
) -> None:
    """Serve one client: print what it sent, answer `Hello {IP}:{Port}`, hang up."""
    try:
        await greet(reader, writer, show)
    except ConnectionError:
        pass  # the client vanished
    finally:
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
    args = parse_address("Stage ii_2 chat server.", argv)
    with clean_exit():
        asyncio.run(serve_forever(args.address, args.port))


if __name__ == "__main__":
    main()
