"""A broken ii_5 client: it reads the keyboard with input(), which blocks, instead of read_line."""

import asyncio


async def listen(reader: asyncio.StreamReader, show) -> None:
    while line := await reader.readline():
        show(line.decode().rstrip("\n"))


async def talk(writer: asyncio.StreamWriter) -> None:
    while True:
        message = input("> ")
        writer.write(message.encode())
        await writer.drain()


async def run_client(host: str, port: int, pseudo: str, read_line, show=print) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"Hello|{pseudo}".encode())
    await writer.drain()
    await asyncio.gather(listen(reader, show), talk(writer))
