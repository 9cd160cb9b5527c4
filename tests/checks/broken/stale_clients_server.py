"""A broken ii_6 server: departures are announced, but the client who left stays in CLIENTS."""

import asyncio

CLIENTS = {}


def send_all(text, but=None):
    for address, client in CLIENTS.items():
        if address != but:
            client["w"].write((text + "\n").encode())


async def handle_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show=print) -> None:
    address = writer.get_extra_info("peername")
    message = (await reader.read(1024)).decode()
    if not message.startswith("Hello|") or message == "Hello|":
        writer.close()
        return
    pseudo = message.split("|", 1)[1]
    CLIENTS[address] = {"r": reader, "w": writer, "pseudo": pseudo}
    send_all(f"Annonce : {pseudo} a rejoint la chatroom")
    try:
        while True:
            data = await reader.read(1024)
            if data == b"":
                break
            send_all(f"{pseudo} a dit : {data.decode()}", but=address)
    except ConnectionResetError:
        pass
    send_all(f"Annonce : {pseudo} a quitté la chatroom", but=address)
