"""A correct step 2 written another way: count_twice starts two tasks and awaits both."""

import asyncio


async def count(pause=0.5, show=print):
    number = 0
    while number < 10:
        show(f"{number}")
        await asyncio.sleep(pause)
        number += 1


async def count_twice(pause=0.5, show=print):
    first = asyncio.create_task(count(pause, show))
    second = asyncio.create_task(count(pause, show))
    await first
    await second
