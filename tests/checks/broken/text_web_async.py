"""A broken web_async: aiohttp's text() for the page, and aiofiles in text mode, dropping what is not UTF-8."""

import aiofiles
import aiohttp


async def get_content(url: str) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            return await response.text(errors="replace")


async def write_content(content: bytes, file) -> None:
    async with aiofiles.open(file, "w") as output:
        await output.write(content.decode(errors="ignore"))
