"""A broken ii_5 server: it takes whatever follows the "|" of the first message as the pseudo, unchecked."""

import asyncio

CLIENTS = {}


async def handle_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show=print) -> None:
    address = writer.get_extra_info("peername")
    first_message = await reader.read(1024)
    pseudo = first_message.decode(errors="replace").split("|")[-1]
    CLIENTS[address] = {"r": reader, "w": writer, "pseudo": pseudo}
    for client in CLIENTS.values():
        client["w"].write(f"Annonce : {pseudo} a rejoint la chatroom\n".encode())
    try:
        while data := await reader.read(1024):
            for other, client in CLIENTS.items():
                if other != address:
                    client["w"].write(f"{pseudo} a dit : {data.decode()}\n".encode())
    except ConnectionError:
        pass
    finally:
        CLIENTS.pop(address)
