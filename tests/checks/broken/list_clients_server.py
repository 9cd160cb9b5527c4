"""A broken ii_4 server: it relays well, but keeps its clients in a global list of writers, not CLIENTS."""

import asyncio

clients = []


async def handle_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show=print) -> None:
    ip, port = writer.get_extra_info("peername")
    clients.append(writer)
    await reader.read(1024)
    writer.write(f"Hello {ip}:{port}\n".encode())
    while True:
        data = await reader.read(1024)
        if not data:
            break
        for other in clients:
            if other is not writer:
                other.write(f"{ip}:{port} a dit : {data.decode()}\n".encode())
    clients.remove(writer)
    writer.close()
