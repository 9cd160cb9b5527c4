"""What a person sees in a terminal: a program run in a pseudo-terminal, its output drawn by pyte.

pyte is a terminal emulator: it applies the cursor moves, line clearing and redraws the program
sends, so a test reads the screen's rows as they look, not the raw byte stream. It also answers
the program's "where is the cursor?" questions, as a real terminal does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pexpect
import pyte

COLUMNS = 80
ROWS = 24
TIMEOUT = 10.0


class AnsweringScreen(pyte.Screen):
    """A pyte screen that sends its answers to terminal queries (cursor position) back to the program."""

    def __init__(self, columns: int, rows: int, answer: Callable[[str], object]) -> None:
        super().__init__(columns, rows)
        self._answer = answer

    def write_process_input(self, data: str) -> None:
        self._answer(data)


class Terminal:
    """A program in a pseudo-terminal of COLUMNS x ROWS, its screen kept up to date by pyte."""

    def __init__(self, child: pexpect.spawn, columns: int = COLUMNS, rows: int = ROWS) -> None:
        self.child = child
        self.screen = AnsweringScreen(columns, rows, child.send)
        self._stream = pyte.ByteStream(self.screen)
        self.output = b""

    @classmethod
    def spawn(
        cls, program: str, args: list[str], columns: int = COLUMNS, rows: int = ROWS, **options: object
    ) -> Terminal:
        """Start `program args` in a new pseudo-terminal of `columns` x `rows`."""
        child = pexpect.spawn(program, args, dimensions=(rows, columns), **options)
        return cls(child, columns, rows)

    def rows(self) -> list[str]:
        """The screen's rows as they look, trailing spaces removed."""
        return [row.rstrip() for row in self.screen.display]

    def cursor_row(self) -> str:
        """The row the cursor is on."""
        return self.rows()[self.screen.cursor.y]

    def text(self) -> str:
        """The screen as text, for failure messages."""
        return "\n".join(f"{number:2d}|{row}" for number, row in enumerate(self.rows()))

    def read_available(self, timeout: float) -> bool:
        """Draw what the program printed within `timeout` seconds; False once it has exited."""
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self.output += data
        self._stream.feed(data)
        return True

    def wait_until(self, condition: Callable[[Terminal], bool], what: str, timeout: float = TIMEOUT) -> None:
        """Read and draw the program's output until `condition(self)` holds; fail after `timeout` s."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            remaining = deadline - time.monotonic()
            running = remaining > 0 and self.read_available(min(remaining, 0.2))
            if not running and not condition(self):
                raise AssertionError(f"the screen never showed {what}; it shows:\n{self.text()}")

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

    def wait_for_exit(self, timeout: float = TIMEOUT) -> int | None:
        """Draw everything until the program exits; return its exit status."""
        deadline = time.monotonic() + timeout
        while self.read_available(min(max(deadline - time.monotonic(), 0.01), 0.2)):
            if time.monotonic() > deadline:
                raise AssertionError(f"the program did not exit; the screen shows:\n{self.text()}")
        self.child.close()
        return self.child.exitstatus

    def close(self) -> None:
        """End the program if it still runs."""
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close()
