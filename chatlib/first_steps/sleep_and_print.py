"""Step 1: count to ten twice, synchronously; the second count waits for the first.

    python -m chatlib.first_steps.sleep_and_print [--pause SECONDS]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

PAUSE_SECONDS = 0.5


def count(pause: float = PAUSE_SECONDS, show: Callable[[str], None] = print) -> None:
    """Show 0 to 9, sleeping `pause` seconds after each number (blocking the whole program)."""
    for number in range(10):
        show(str(number))
        time.sleep(pause)


def count_twice(pause: float = PAUSE_SECONDS, show: Callable[[str], None] = print) -> None:
    """Run two counts one after the other: about 20 pauses in all."""
    count(pause, show)
    count(pause, show)


def parse_pause(argv: list[str] | None, description: str | None) -> float:
    """Read the optional `--pause SECONDS` option shared by both sleep-and-print scripts."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pause", type=float, default=PAUSE_SECONDS,
                        help=f"seconds to sleep after each number (default {PAUSE_SECONDS})")
    pause: float = parser.parse_args(argv).pause
    if pause < 0:
        parser.error("--pause must be zero or more")
    return pause


def main(argv: list[str] | None = None) -> int:
    """Count twice and say how long it took."""
    pause = parse_pause(argv, __doc__)
    started = time.perf_counter()
    try:
        count_twice(pause)
    except KeyboardInterrupt:
        print("Interrupted.")
        return 130
    print(f"Both counts took {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
