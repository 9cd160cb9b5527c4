"""Student code that blocks, spins, waits for a keyboard or exits: the check still ends, in time, saying why.

Each scenario runs on its own event loop in its own thread; these tests also check that nothing
is left behind afterwards: no thread of the checks, no socket.
"""

from __future__ import annotations

import asyncio
import builtins
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from chatlib.checks import Status, check, isolation
from chatlib.checks.loading import ImplementationFileError, load_module
from tests.checks.helpers import broken, check_one, failure_text

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 30.0
"""Generous bound on a whole check, however the code under test misbehaves (the machine may be loaded)."""
CLIENT_STOPS = "client stops when the server goes away"


@pytest.fixture
def quick_block_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loop blocked 1 s is given up on (3 s by default), to keep these tests short."""
    monkeypatch.setattr(isolation, "BLOCK_LIMIT", 1.0)


def open_loopback_sockets() -> set[tuple[Any, ...]]:
    """This process's TCP sockets on 127.0.0.1 (listening or connected)."""
    return {
        (connection.laddr, connection.raddr, connection.status)
        for connection in psutil.Process().net_connections(kind="tcp")
        if connection.laddr and connection.laddr.ip == "127.0.0.1"
    }


async def nothing_left_behind(sockets_before: set[tuple[Any, ...]]) -> None:
    """Wait (up to 15 s) for the checks' threads to end and their sockets to close."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        threads = [thread.name for thread in threading.enumerate() if thread.name.startswith("chatlib-check")]
        left = {entry for entry in open_loopback_sockets() - sockets_before if entry[2] != "TIME_WAIT"}
        if not threads and not left:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"left behind: threads {threads}, sockets {left}")


async def timed_check(step: str, **given: Any) -> tuple[Any, float]:
    started = time.monotonic()
    report = await check(step, show=None, **given)
    return report, time.monotonic() - started


async def test_a_server_spinning_on_an_ended_connection_is_named_and_stopped() -> None:
    sockets_before = open_loopback_sockets()
    report, elapsed = await timed_check("ii_6", **broken("spinning_server.py", "ii_6"))
    assert elapsed < LIMIT
    scenario = "server keeps each client in CLIENTS while connected, and removes it when it leaves"
    text = failure_text(report, scenario)
    assert (
        "your code blocked the event loop for 3 s, at tests/checks/broken/spinning_server.py, line " in text
    )
    assert "in handle_client" in text
    assert "read() and readline() return b'' at once, every time: stop reading when they return b''" in text
    assert report.count(Status.NOT_RUN) == 7
    assert (
        "handle_client blocked the event loop in an earlier scenario (above): fix that first" in report.text()
    )
    assert report.results[3].cause == "blocked the event loop"
    await nothing_left_behind(sockets_before)


async def test_time_sleep_holding_the_loop_is_named(quick_block_limit: None) -> None:
    sockets_before = open_loopback_sockets()
    report, elapsed = await timed_check("sleep_async", **broken("sleeping_count.py", "sleep_async"))
    assert elapsed < LIMIT
    text = failure_text(report, "two count coroutines gathered interleave (the loop is never blocked)")
    assert (
        "your code blocked the event loop for 1 s, at tests/checks/broken/sleeping_count.py, line 10, in count"
        in text
    )
    assert "time.sleep(0.5)" in text
    assert "time.sleep() stops the whole event loop; in a coroutine use `await asyncio.sleep(...)`" in text
    await nothing_left_behind(sockets_before)


async def test_a_client_spinning_on_readline_after_the_server_left_is_named(quick_block_limit: None) -> None:
    report, elapsed = await timed_check("ii_6", **broken("readline_spin_client.py", "ii_6"))
    assert elapsed < LIMIT
    text = failure_text(report, CLIENT_STOPS)
    assert "your code blocked the event loop for 1 s, at tests/checks/broken/readline_spin_client.py" in text
    assert "in receive" in text and "stop reading when they return b''" in text


async def test_input_fails_at_once_with_a_clear_message_and_the_keyboard_comes_back() -> None:
    original_input, original_stdin = builtins.input, sys.stdin
    report, elapsed = await timed_check("ii_5", **broken("input_client.py", "ii_5"))
    assert elapsed < LIMIT
    text = failure_text(report, "client sends what the user types")
    assert "your code called input(), which waits for a keyboard: a check has none" in text
    assert 'at tests/checks/broken/input_client.py, line 13, in talk: message = input("> ")' in text
    assert "read what the user types with `await read_line(prompt)`" in text
    assert report.results[-1].cause == "keyboard"
    assert builtins.input is original_input and sys.stdin is original_stdin


async def test_reading_sys_stdin_fails_the_same_way() -> None:
    async def run_client(host: str, port: int, read_line: Any, show: Any = print) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"Hello")
        while True:
            writer.write(sys.stdin.readline().encode())

    report = await check("ii_3", show=None, client=run_client)
    assert (
        "your code read sys.stdin (directly, or through aioconsole.ainput()), which waits for a keyboard"
        in failure_text(report, "client sends Hello first")
    )


async def test_sys_exit_is_a_failure_of_its_scenario_and_nothing_more() -> None:
    sockets_before = open_loopback_sockets()
    report, elapsed = await timed_check("ii_6", **broken("exit_client.py", "ii_6"))
    assert elapsed < LIMIT
    text = failure_text(report, CLIENT_STOPS)
    assert "your code raised sys.exit(): that would end the whole program (or the notebook's kernel)" in text
    assert "at tests/checks/broken/exit_client.py, line 12, in receive: sys.exit(0)" in text
    assert [result.status for result in report.results if result.status is not Status.NOT_GIVEN] == [
        Status.PASS,
        Status.PASS,
        Status.PASS,
        Status.FAIL,
    ]
    await nothing_left_behind(sockets_before)


async def test_sys_exit_in_a_blocking_function_is_reported_too() -> None:
    def count(pause: float, show: Any) -> None:
        show("0")
        sys.exit("bye")

    report = await check("sleep_sync", show=None, count=count)
    text = failure_text(report, "count shows 0 to 9, pausing after each number, twice in turn")
    assert "your code raised sys.exit()" in text and 'in count: sys.exit("bye")' in text


async def test_code_that_swallows_the_stop_is_left_behind_and_the_report_comes_anyway(
    quick_block_limit: None,
) -> None:
    until = time.monotonic() + 7

    async def count(pause: float, show: Any) -> None:
        """Holds the loop for the 7 s to come, ignoring every exception raised to stop it."""
        while time.monotonic() < until:
            try:
                time.sleep(0.01)
            except BaseException:
                pass

    sockets_before = open_loopback_sockets()
    report, elapsed = await timed_check("sleep_async", count=count)
    assert time.monotonic() < until  # the report did not wait for the code to let go
    assert elapsed < LIMIT
    text = failure_text(report, "two count coroutines gathered interleave (the loop is never blocked)")
    assert "your code blocked the event loop for 1 s, at tests/checks/test_hangs.py, line " in text
    await nothing_left_behind(sockets_before)  # once its 7 s are over, the thread ends and its loop closes


def test_a_file_whose_top_level_never_ends_is_reported_within_the_import_limit(tmp_path: Path) -> None:
    student_file = tmp_path / "serves_at_import.py"
    student_file.write_text(textwrap.dedent("""\
            import time

            def handle_client(reader, writer, show=print):
                pass

            while True:  # the server started at the top level, not under if __name__ == "__main__"
                time.sleep(0.05)
            """))
    started = time.monotonic()
    with pytest.raises(ImplementationFileError) as raised:
        load_module(student_file, limit=1.0)
    assert time.monotonic() - started < LIMIT
    message = str(raised.value)
    assert "did not finish within 1 s, at " in message and "line 7" in message
    assert 'put what starts the program under `if __name__ == "__main__":`' in message


def test_a_file_calling_input_or_exit_at_the_top_level_is_reported(tmp_path: Path) -> None:
    asks = tmp_path / "asks.py"
    asks.write_text("pseudo = input('Pseudo: ')\n")
    with pytest.raises(ImplementationFileError, match="it calls input\\(\\) at the top level"):
        load_module(asks)
    exits = tmp_path / "exits.py"
    exits.write_text("import sys\nsys.exit(1)\n")
    with pytest.raises(ImplementationFileError, match="it calls sys.exit\\(\\) at the top level"):
        load_module(exits)


def test_python_exits_without_waiting_for_an_executor_thread_stuck_in_student_code() -> None:
    script = textwrap.dedent("""\
        import asyncio, time
        from chatlib.checks.isolation import run_isolated

        async def scenario():
            await asyncio.get_running_loop().run_in_executor(None, time.sleep, 60)

        outcome = asyncio.run(run_isolated(scenario, timeout=1.0))
        print(type(outcome.error).__name__, [spot.line for spot in outcome.waiting])
        """)
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=LIMIT + 30
    )
    assert time.monotonic() - started < LIMIT, "Python's exit waited for the executor's thread"
    assert run.stdout == "TimeoutError [5]\n", run.stderr  # waiting at the line of run_in_executor


async def test_aioconsole_ainput_instead_of_read_line_fails_at_once() -> None:
    from aioconsole import ainput

    async def run_client(host: str, port: int, read_line: Any, show: Any = print) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"Hello")
        while True:
            writer.write((await ainput("> ")).encode())

    result = await check_one("ii_3", "client sends what the user types", client=run_client)
    assert result.status is Status.FAIL and result.cause == "keyboard"
    assert result.details[0].startswith(
        "your code read sys.stdin (directly, or through aioconsole.ainput()), which waits for a keyboard"
    )
