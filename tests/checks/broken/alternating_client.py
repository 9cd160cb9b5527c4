"""A broken ii_3 client: it takes turns, one line from the server, then one from the keyboard (no gather)."""

import asyncio


async def run_client(host: str, port: int, read_line, show=print) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"Hello")
    await writer.drain()
    while True:
        line = await reader.readline()
        if not line:
            break
        show(line.decode().rstrip("\n"))
        typed = await read_line("> ")
        writer.write(typed.encode())
        await writer.drain()
    writer.close()
