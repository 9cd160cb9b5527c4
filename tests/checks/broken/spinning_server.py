"""A broken ii_6 server: after a client leaves, read() returns b'' forever and its loop never stops."""

import asyncio

CLIENTS = {}


async def broadcast(text: str, sender=None) -> None:
    for address in CLIENTS:
        if address != sender:
            CLIENTS[address]["w"].write(text.encode())


async def handle_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show=print) -> None:
    address = writer.get_extra_info("peername")
    hello = (await reader.read(1024)).decode()
    pseudo = hello.split("|")[1]
    CLIENTS[address] = {"r": reader, "w": writer, "pseudo": pseudo}
    await broadcast(f"Annonce : {pseudo} a rejoint la chatroom\n")
    while True:
        data = await reader.read(1024)
        message = data.decode()
        if message:
            await broadcast(f"{pseudo} a dit : {message}\n", sender=address)
