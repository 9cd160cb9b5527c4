"""A broken ii_2 client: say_hello is a coroutine with asyncio streams, where a plain socket is asked."""

import asyncio


async def say_hello(host: str, port: int, show=print) -> str:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"Hello")
    await writer.drain()
    answer = (await reader.read(1024)).decode().strip()
    show(answer)
    writer.close()
    return answer
