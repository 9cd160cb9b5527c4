"""A broken step 2: count sleeps with time.sleep(0.5) and never awaits, so it holds the event loop 5 s."""

import asyncio
import time


async def count(pause: float = 0.5, show=print) -> None:
    for number in range(10):
        show(str(number))
        time.sleep(0.5)


async def count_twice(pause: float = 0.5, show=print) -> None:
    await asyncio.gather(count(pause, show), count(pause, show))
