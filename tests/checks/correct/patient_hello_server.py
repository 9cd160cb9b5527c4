"""A correct ii_5 server written another way: a bad first message gets an error line, and the server
waits for a proper Hello|PSEUDO on the same connection; messages are shown with show()."""

import asyncio

CLIENTS = {}


async def wait_for_pseudo(reader, writer):
    while True:
        data = await reader.read(1024)
        if not data:
            return None
        try:
            text = data.decode()
        except UnicodeDecodeError:
            text = ""
        if text.startswith("Hello|") and text[len("Hello|") :].strip():
            return text[len("Hello|") :].strip()
        writer.write(b"Erreur : envoie d'abord Hello|<PSEUDO>\n")


async def handle_client(reader, writer, show=print):
    host, port = writer.get_extra_info("peername")
    try:
        pseudo = await wait_for_pseudo(reader, writer)
        if pseudo is None:
            return
        CLIENTS[(host, port)] = {"r": reader, "w": writer, "pseudo": pseudo}
        for entry in list(CLIENTS.values()):
            entry["w"].write(f"Annonce : {pseudo} a rejoint la chatroom\n".encode())
        while True:
            data = await reader.read(1024)
            if not data:
                break
            show(f"Message received from {host}:{port} : {data.decode(errors='replace')}")
            for address, entry in list(CLIENTS.items()):
                if address != (host, port):
                    entry["w"].write(f"{pseudo} a dit : {data.decode(errors='replace')}\n".encode())
    except ConnectionResetError:
        pass
    finally:
        CLIENTS.pop((host, port), None)
        writer.close()
