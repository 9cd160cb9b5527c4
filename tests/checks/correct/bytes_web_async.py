"""A correct web_async written another way: aiohttp's stream read in chunks, aiofiles in binary mode."""

import aiofiles
import aiohttp


async def get_content(url):
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            chunks = []
            async for chunk in response.content.iter_chunked(64):
                chunks.append(chunk)
            return b"".join(chunks)


async def write_content(content, file):
    async with aiofiles.open(file, mode="wb") as output:
        await output.write(content)
