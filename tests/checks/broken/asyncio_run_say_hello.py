"""A broken ii_2 client: a plain function on the outside, asyncio inside (asyncio.run), where a socket is asked."""

import asyncio

async def _hello(host, port, show):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"Hello")
    answer = (await reader.read(1024)).decode().strip()
    show(answer)
    return answer

def say_hello(host, port, show=print):
    return asyncio.run(_hello(host, port, show))
