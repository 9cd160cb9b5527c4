"""A broken step 2: `count` is a coroutine, but it calls the blocking time.sleep()."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def count(pause: float = 0.5, show: Callable[[str], None] = print) -> None:
    """Show 0 to 9; the bug: time.sleep() stops the whole event loop, so nothing else runs."""
    for number in range(10):
        show(str(number))
        time.sleep(pause)


async def count_twice(pause: float = 0.5, show: Callable[[str], None] = print) -> None:
    """Gather two counts (they will still run one after the other)."""
    await asyncio.gather(count(pause, show), count(pause, show))
