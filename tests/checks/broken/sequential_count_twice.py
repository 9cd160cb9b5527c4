"""A broken step 2: count is right, but count_twice awaits one count after the other (no gather)."""

import asyncio


async def count(pause: float = 0.5, show=print) -> None:
    for number in range(10):
        show(str(number))
        await asyncio.sleep(pause)


async def count_twice(pause: float = 0.5, show=print) -> None:
    await count(pause, show)
    await count(pause, show)
