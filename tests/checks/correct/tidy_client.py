"""A correct ii_6 client written another way: read(1024) split into lines, the display tidied with
"\r\x1b[K" and colors, a TaskGroup, ConnectionError when the server leaves."""

import asyncio

CLEAR_LINE = "\r\x1b[K"
BOLD, RESET = "\x1b[1m", "\x1b[0m"


async def receive(reader: asyncio.StreamReader, show) -> None:
    pending = b""
    while True:
        chunk = await reader.read(1024)
        if not chunk:
            show(CLEAR_LINE + "Le serveur est parti.")
            raise ConnectionError("server gone")
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            show(f"{CLEAR_LINE}{BOLD}{line.decode(errors='replace')}{RESET}")


async def send(writer: asyncio.StreamWriter, read_line) -> None:
    while True:
        text = await read_line("> ")
        if text:
            writer.write(text.encode())
            await writer.drain()


async def run_client(host: str, port: int, pseudo: str, read_line, show=print) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(("Hello|" + pseudo).encode())
    await writer.drain()
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(receive(reader, show))
            group.create_task(send(writer, read_line))
    except* ConnectionError as errors:
        raise errors.exceptions[0] from None
    finally:
        writer.close()
