"""Step 2: the same two counts as coroutines, run together by asyncio's event loop.

While one count sleeps, the event loop runs the other, so the numbers
interleave (0, 0, 1, 1, ...) and the whole takes half the time.

    python -m chatlib.first_steps.sleep_and_print_async [--pause SECONDS]
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable

from chatlib.first_steps.sleep_and_print import PAUSE_SECONDS, parse_pause


async def count(pause: float = PAUSE_SECONDS, show: Callable[[str], None] = print) -> None:
    """Show 0 to 9, awaiting `pause` seconds after each number (other coroutines run meanwhile)."""
    for number in range(10):
        show(str(number))
        await asyncio.sleep(pause)


async def count_twice(pause: float = PAUSE_SECONDS, show: Callable[[str], None] = print) -> None:
    """Run two counts concurrently: about 10 pauses in all."""
    await asyncio.gather(count(pause, show), count(pause, show))


def main(argv: list[str] | None = None) -> int:
    """Start the event loop on both counts and say how long it took."""
    pause = parse_pause(argv, __doc__)
    started = time.perf_counter()
    try:
        asyncio.run(count_twice(pause))
    except KeyboardInterrupt:
        print("Interrupted.")
        return 130
    print(f"Both counts took {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
