"""A correct ii_3 server written another way: it keeps the connected writers in a set."""

import asyncio

connected = set()


async def handle_client(reader, writer, show=print):
    ip, port = writer.get_extra_info("peername")
    connected.add(writer)
    try:
        hello = await reader.read(1024)
        show(f"Message received from {ip}:{port} : {hello.decode()}")
        writer.write(f"Hello {ip}:{port}\n".encode())
        async for _ in _messages(reader, show, f"{ip}:{port}"):
            pass
    finally:
        connected.discard(writer)
        writer.close()


async def _messages(reader, show, who):
    while data := await reader.read(1024):
        show(f"Message received from {who} : {data.decode()}")
        yield data
