"""Stage ii_3, client: asynchronous; the user types while the server's lines keep arriving.

Two coroutines run at once with `asyncio.gather()`: one waits for the keyboard and sends each
line typed, the other waits for the server and shows each line it sends. The keyboard is read
with `read_typed_line` (prompt_toolkit), which keeps the line being typed whole while messages
print above it; the lab sheet's `aioconsole.ainput()` cannot (`read_typed_line` says why).

Run it with `python -m chatlib.stages.ii_3.client [-a ADDRESS] [-p PORT]`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from prompt_toolkit.patch_stdout import patch_stdout

from chatlib.stages.cli import clean_exit, parse_address, printable, read_typed_line

PROMPT = "> "


async def send_typed_lines(writer: asyncio.StreamWriter, read_line: Callable[[str], Awaitable[str]]) -> None:
    """Send each line the user types, as it is, with no terminator."""
    while True:
        line = await read_line(PROMPT)
        if line:
            writer.write(line.encode())
            await writer.drain()


async def show_received_lines(reader: asyncio.StreamReader, show: Callable[[str], None]) -> None:
    """Show each line the server sends, until it closes the connection."""
    while line := await reader.readline():
        show(printable(line.decode(errors="replace").rstrip("\r\n")))


async def run_client(
    host: str,
    port: int,
    read_line: Callable[[str], Awaitable[str]] = read_typed_line,
    show: Callable[[str], None] = print,
) -> None:
    """Say Hello, then type and receive at the same time until one side stops."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"Hello")
    await writer.drain()
    sending = asyncio.create_task(send_typed_lines(writer, read_line))
    receiving = asyncio.create_task(show_received_lines(reader, show))
    try:
        await asyncio.gather(sending, receiving)
    finally:
        # gather() leaves the other coroutine running when one fails: stop both.
        sending.cancel()
        receiving.cancel()
        writer.close()


def main(argv: list[str] | None = None) -> None:
    """The command line: parse the address, chat, exit cleanly."""
    args = parse_address("Stage ii_3 chat client.", argv)
    with clean_exit(), patch_stdout():  # what is printed goes above the line being typed
        asyncio.run(run_client(args.address, args.port))


if __name__ == "__main__":
    main()
