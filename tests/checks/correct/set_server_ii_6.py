"""A correct ii_6 server written another way: start_server, set operations on CLIENTS' keys, a bad
first message answered by closing the connection."""

import asyncio

CLIENTS: dict[tuple[str, int], dict] = {}


async def tell(addresses, line: str) -> None:
    for address in addresses:
        writer = CLIENTS[address]["w"]
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
        except ConnectionError:
            pass


async def serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    me = writer.get_extra_info("peername")
    try:
        greeting = await reader.read(1024)
        kind, _, name = greeting.decode().partition("|")
        name = name.strip()
    except (UnicodeDecodeError, ConnectionError):
        writer.close()
        return
    if kind != "Hello" or not name:
        writer.close()
        return
    CLIENTS[me] = {"r": reader, "w": writer, "pseudo": name}
    await tell(set(CLIENTS), f"Annonce : {name} a rejoint la chatroom")
    try:
        while chunk := await reader.read(1024):
            await tell(CLIENTS.keys() - {me}, f"{name} a dit : {chunk.decode(errors='replace')}")
    except ConnectionError:
        pass
    finally:
        del CLIENTS[me]
        await tell(set(CLIENTS), f"Annonce : {name} a quitté la chatroom")
        writer.close()


async def start_server(host: str, port: int, show=print) -> asyncio.Server:
    return await asyncio.start_server(serve_one, host, port)
