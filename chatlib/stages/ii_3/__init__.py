"""Stage ii_3, asynchronous client: typing and receiving at the same time with asyncio.gather()."""
