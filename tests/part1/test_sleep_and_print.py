"""Steps 1 and 2: the sync counts follow each other, the async ones interleave."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from chatlib.first_steps import sleep_and_print, sleep_and_print_async

ONE_COUNT = [str(number) for number in range(10)]


def test_sync_counts_run_one_after_the_other() -> None:
    shown: list[str] = []
    sleep_and_print.count_twice(pause=0.001, show=shown.append)
    assert shown == ONE_COUNT + ONE_COUNT


async def test_async_counts_interleave() -> None:
    shown: list[str] = []
    async with asyncio.timeout(10):
        await sleep_and_print_async.count_twice(pause=0.01, show=shown.append)
    assert shown == [number for number in ONE_COUNT for _ in range(2)]


async def test_async_counts_share_their_pauses() -> None:
    started = time.perf_counter()
    async with asyncio.timeout(10):
        await sleep_and_print_async.count_twice(pause=0.1, show=lambda _: None)
    # Twenty pauses of 0.1 s one after the other would take 2 s; overlapping, about 1 s.
    assert time.perf_counter() - started < 1.8


def test_both_scripts_run_from_a_terminal() -> None:
    for module, expected in (("sleep_and_print", ONE_COUNT + ONE_COUNT),
                             ("sleep_and_print_async", [n for n in ONE_COUNT for _ in range(2)])):
        result = subprocess.run([sys.executable, "-m", f"chatlib.first_steps.{module}", "--pause", "0"],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[:-1] == expected
        assert lines[-1].startswith("Both counts took ")


def test_a_negative_pause_is_refused_in_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "chatlib.first_steps.sleep_and_print", "--pause", "-1"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith("error: --pause must be zero or more")
    assert "Traceback" not in result.stderr
