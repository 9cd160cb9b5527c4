"""What a person sees of ``chat-client`` in a terminal: the program in a pseudo-terminal, its
output drawn by pyte, a terminal emulator.

pyte applies the cursor moves, erasing and redrawing the program sends, so a test reads the
screen's rows as they look, not the byte stream; like a real terminal, it keeps reading the
program's output all the time (in a thread) and answers its "where is the cursor?" questions.

Terminals differ in one thing that matters here: when they get narrower, most of them (tmux,
GNOME Terminal, iTerm2, Windows Terminal) *reflow* their lines, cutting each line longer than
the new width into several rows; others (xterm, and pyte itself) cut nothing and only hide what
no longer fits. ``ReflowingScreen`` behaves like the first kind.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable
from pathlib import Path

import pexpect
import pyte

from tests.app.client_fixtures import client_command, client_environment

COLUMNS = 80
ROWS = 24
TIMEOUT = 10.0

Row = dict[int, pyte.screens.Char]


class AnsweringScreen(pyte.Screen):
    """A pyte screen that sends its answers to the program's queries (cursor position) back to it."""

    def __init__(self, columns: int, rows: int, answer: Callable[[str], object]) -> None:
        super().__init__(columns, rows)
        self._answer = answer

    def write_process_input(self, data: str) -> None:
        self._answer(data)


class ReflowingScreen(AnsweringScreen):
    """A screen that reflows its rows when it gets narrower, as tmux and most terminals do: a row
    longer than the new width becomes several rows, the cursor moving along with its character."""

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        if columns is not None and columns < self.columns:
            self._reflow(columns)
        super().resize(lines, columns)

    def _reflow(self, columns: int) -> None:
        """Cut every row longer than ``columns``, pushing the rows below down (or the top rows off)."""
        rows: list[Row] = []
        cursor_row, cursor_column = self.cursor.y, self.cursor.x
        for y in range(self.lines):
            line = self.buffer[y]
            length = 1 + max((x for x, char in line.items() if char.data != " "), default=-1)
            pieces = max(1, math.ceil(length / columns))
            if y == self.cursor.y:
                piece = min(self.cursor.x // columns, pieces - 1)
                cursor_row, cursor_column = len(rows) + piece, min(
                    self.cursor.x - piece * columns, columns - 1
                )
            for start in range(0, pieces * columns, columns):
                rows.append({x - start: line[x] for x in range(start, min(start + columns, length))})
        while len(rows) > self.lines and not rows[-1] and len(rows) - 1 > cursor_row:
            rows.pop()  # empty rows below the cursor make room first
        dropped = max(0, len(rows) - self.lines)  # then the top rows go (into the scrollback)
        self.buffer.clear()
        for y, row in enumerate(rows[dropped:]):
            self.buffer[y].update(row)
        self.cursor.y, self.cursor.x = cursor_row - dropped, cursor_column


class ScreenClient:
    """``chat-client`` in a pseudo-terminal of ``columns`` x ``rows``, drawn by a terminal emulator."""

    def __init__(
        self, port: int, log_dir: Path, home: Path, *, reflowing: bool = False, columns: int = COLUMNS
    ) -> None:
        home.mkdir(parents=True, exist_ok=True)
        command = client_command(port, log_dir)
        environment = client_environment(home)
        del environment["PROMPT_TOOLKIT_NO_CPR"]  # this terminal answers cursor position requests
        self.child = pexpect.spawn(
            command[0], command[1:], cwd=str(home), env=environment, dimensions=(ROWS, columns)
        )
        screen_type = ReflowingScreen if reflowing else AnsweringScreen
        self.screen = screen_type(columns, ROWS, self.child.send)
        self._stream = pyte.ByteStream(self.screen)
        self._drawn = threading.Condition()
        self._reader = threading.Thread(target=self._draw_output, name="terminal emulator", daemon=True)
        self._reader.start()

    def _draw_output(self) -> None:
        """Draw whatever the program prints, until it ends."""
        while True:
            try:
                data = self.child.read_nonblocking(65536, timeout=None)
            except (pexpect.EOF, OSError, ValueError):
                break
            with self._drawn:
                self._stream.feed(data)
                self._drawn.notify_all()
        with self._drawn:
            self._drawn.notify_all()

    def rows(self) -> list[str]:
        """The screen's rows as they look, trailing spaces removed."""
        return [row.rstrip() for row in self.screen.display]

    def cursor_row(self) -> str:
        """The row the cursor is on: the input line, while the chat waits for a line."""
        return self.rows()[self.screen.cursor.y]

    def text(self) -> str:
        """The screen as numbered rows, for failure messages."""
        return "\n".join(f"{number:2d}|{row}" for number, row in enumerate(self.rows()))

    async def wait_until(self, condition: Callable[[ScreenClient], bool], what: str) -> None:
        """Wait until ``condition(self)`` holds for the screen drawn so far; fail after TIMEOUT seconds."""

        def wait() -> bool:
            with self._drawn:
                return self._drawn.wait_for(lambda: condition(self), TIMEOUT)

        if not await asyncio.to_thread(wait):
            raise AssertionError(f"the screen never showed {what}; it shows:\n{self.text()}")

    async def wait_for_row(self, row: str) -> None:
        """Wait until a row reads exactly ``row``."""
        await self.wait_until(lambda client: row in client.rows(), f"the row {row!r}")

    def type(self, keys: str) -> None:
        """Type these keys, as a person would (``\\r`` is Enter)."""
        self.child.send(keys)

    def resize(self, columns: int) -> None:
        """Make the terminal ``columns`` wide, as a person dragging its window's edge: the screen
        changes first, then the program is told (SIGWINCH)."""
        with self._drawn:
            self.screen.resize(ROWS, columns)
        self.child.setwinsize(ROWS, columns)

    async def exit_status(self) -> int | None:
        """Wait for the program to end; its exit status."""
        await asyncio.to_thread(self._reader.join, TIMEOUT)
        assert not self._reader.is_alive(), f"the program did not end; the screen shows:\n{self.text()}"
        self.child.close()
        return self.child.exitstatus

    def kill(self) -> None:
        """Make sure the program is gone at the end of a test."""
        if self.child.isalive():
            self.child.terminate(force=True)
