"""A broken ii_6 client: when the server goes away it calls sys.exit(), which ends the whole program."""

import asyncio
import sys


async def receive(reader: asyncio.StreamReader, show) -> None:
    while True:
        line = await reader.readline()
        if not line:
            show("The server has left.")
            sys.exit(0)
        show(line.decode().rstrip("\n"))


async def send(writer: asyncio.StreamWriter, read_line) -> None:
    while True:
        writer.write((await read_line("> ")).encode())
        await writer.drain()


async def run_client(host: str, port: int, pseudo: str, read_line, show=print) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"Hello|{pseudo}".encode())
    await writer.drain()
    await asyncio.gather(receive(reader, show), send(writer, read_line))
