"""What a person sees in a terminal: a program run in a pseudo-terminal, its output drawn by pyte.

pyte is a terminal emulator: it applies the cursor moves, erasing and redrawing the program
sends, so a test reads the screen's rows as they look, not the raw byte stream. Like a real
terminal, a ``Terminal`` reads the program's output all the time (in a thread of its own) and
answers its "where is the cursor?" questions. Tests wait on the screen from plain code
(``wait_until``) or from a coroutine (``until``), which leaves the test's event loop running.

Terminals differ in one thing that matters here: when they get narrower, most of them (tmux,
GNOME Terminal, iTerm2, Windows Terminal) *reflow* their lines, cutting each line longer than
the new width into several rows; others (xterm, and pyte itself) cut nothing and only hide what
no longer fits. ``ReflowingScreen`` (``Terminal.spawn(..., reflowing=True)``) behaves like the
first kind.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
from collections.abc import Callable

import pexpect
import pyte

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


class Terminal:
    """A program in a pseudo-terminal of ``columns`` x ``rows``, its screen kept up to date by pyte."""

    def __init__(
        self, child: pexpect.spawn, columns: int = COLUMNS, rows: int = ROWS, *, reflowing: bool = False
    ) -> None:
        self.child = child
        self.screen = (ReflowingScreen if reflowing else AnsweringScreen)(columns, rows, child.send)
        self.output = b""
        """Every byte the program printed so far."""
        self._stream = pyte.ByteStream(self.screen)
        self._drawn = threading.Condition()  # held while the screen changes; notified after each change
        self._ended = False
        self._reader = threading.Thread(target=self._draw_output, name="terminal emulator", daemon=True)
        self._reader.start()

    @classmethod
    def spawn(
        cls,
        program: str,
        args: list[str],
        columns: int = COLUMNS,
        rows: int = ROWS,
        *,
        reflowing: bool = False,
        **options: object,
    ) -> Terminal:
        """Start `program args` in a new pseudo-terminal of `columns` x `rows` (`options`: pexpect's)."""
        child = pexpect.spawn(program, args, dimensions=(rows, columns), **options)
        return cls(child, columns, rows, reflowing=reflowing)

    def _draw_output(self) -> None:
        """Draw whatever the program prints, until it ends."""
        while True:
            try:
                data = self.child.read_nonblocking(65536, timeout=None)
            except (pexpect.EOF, OSError, ValueError):
                break
            with self._drawn:
                self.output += data
                self._stream.feed(data)
                self._drawn.notify_all()
        with self._drawn:
            self._ended = True
            self._drawn.notify_all()

    def rows(self) -> list[str]:
        """The screen's rows as they look, trailing spaces removed."""
        with self._drawn:
            return [row.rstrip() for row in self.screen.display]

    def cursor_row(self) -> str:
        """The row the cursor is on (the line being typed, while a program waits for one)."""
        with self._drawn:
            return self.rows()[self.screen.cursor.y]

    def text(self) -> str:
        """The screen as numbered rows, for failure messages."""
        return "\n".join(f"{number:2d}|{row}" for number, row in enumerate(self.rows()))

    def wait_until(self, condition: Callable[[Terminal], bool], what: str, timeout: float = TIMEOUT) -> None:
        """Wait until `condition(self)` holds for the screen drawn so far; fail after `timeout` seconds,
        or as soon as the program has ended without it."""
        with self._drawn:
            self._drawn.wait_for(lambda: condition(self) or self._ended, timeout)
            if condition(self):
                return
        ended = " (the program has ended)" if self._ended else ""
        raise AssertionError(f"the screen never showed {what}{ended}; it shows:\n{self.text()}")

    async def until(self, condition: Callable[[Terminal], bool], what: str, timeout: float = TIMEOUT) -> None:
        """`wait_until`, from a coroutine: the test's event loop (and a server on it) keeps running."""
        await asyncio.to_thread(self.wait_until, condition, what, timeout)

    def wait_for_output(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        """Wait until everything printed so far matches the regular expression `pattern`; return the match."""

        def printed(terminal: Terminal) -> re.Match[str] | None:
            return re.search(pattern, terminal.output.decode(errors="replace"))

        self.wait_until(lambda terminal: printed(terminal) is not None, f"the output {pattern!r}", timeout)
        match = printed(self)
        assert match is not None
        return match

    def wait_for_row(self, row: str, timeout: float = TIMEOUT) -> int:
        """Wait until a row reads exactly `row`; return its number."""
        self.wait_until(lambda terminal: row in terminal.rows(), f"the row {row!r}", timeout)
        return self.rows().index(row)

    def wait_for_cursor_row(self, row: str, timeout: float = TIMEOUT) -> None:
        """Wait until the cursor's row (the line being typed) reads `row`, spaces at its end aside."""
        self.wait_until(
            lambda terminal: terminal.cursor_row() == row.rstrip(), f"the input line {row!r}", timeout
        )

    def type(self, keys: str) -> None:
        """Type these keys, as a person would (\\r is Enter)."""
        self.child.send(keys)

    def resize(self, columns: int) -> None:
        """Make the terminal `columns` wide, as a person dragging its window's edge: the screen
        changes first, then the program is told (SIGWINCH)."""
        with self._drawn:
            self.screen.resize(self.screen.lines, columns)
        self.child.setwinsize(self.screen.lines, columns)

    def wait_for_exit(self, timeout: float = TIMEOUT) -> int | None:
        """Draw everything until the program ends; return its exit status."""
        self._reader.join(timeout)
        if self._reader.is_alive():
            raise AssertionError(f"the program did not end; the screen shows:\n{self.text()}")
        self.child.close()
        return self.child.exitstatus

    async def exit_status(self, timeout: float = TIMEOUT) -> int | None:
        """`wait_for_exit`, from a coroutine."""
        return await asyncio.to_thread(self.wait_for_exit, timeout)

    def close(self) -> None:
        """End the program if it still runs (at the end of a test)."""
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close()
