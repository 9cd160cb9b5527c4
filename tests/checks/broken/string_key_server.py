"""A broken ii_5 server: CLIENTS is keyed by an "IP:port" string instead of the (IP, port) tuple."""

import asyncio

CLIENTS = {}


async def handle_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show=print) -> None:
    ip, port = writer.get_extra_info("peername")
    key = f"{ip}:{port}"
    first = (await reader.read(1024)).decode()
    if not first.startswith("Hello|") or not first[6:]:
        writer.close()
        return
    pseudo = first[6:]
    CLIENTS[key] = {"r": reader, "w": writer, "pseudo": pseudo}
    for client in CLIENTS.values():
        client["w"].write(f"Annonce : {pseudo} a rejoint la chatroom\n".encode())
    try:
        while data := await reader.read(1024):
            for other_key, client in CLIENTS.items():
                if other_key != key:
                    client["w"].write(f"{pseudo} a dit : {data.decode()}\n".encode())
    finally:
        del CLIENTS[key]
        writer.close()
