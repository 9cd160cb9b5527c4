"""What a person would see: the text a program shows, played through a terminal emulator (pyte).

A client may tidy its display with control codes (`"\\r\\x1b[K" + line` clears the prompt before a
message, colors wrap a name): the checks compare what ends up on the screen, not the raw bytes.
"""

from __future__ import annotations

import pyte

COLUMNS = 200
ROWS = 400


class TerminalScreen:
    """A terminal that each shown text is printed to, as `print(text)` would."""

    def __init__(self) -> None:
        self._screen = pyte.Screen(COLUMNS, ROWS)
        self._screen.set_mode(pyte.modes.LNM)  # "\n" also returns to the start of the line, as a tty does
        self._stream = pyte.Stream(self._screen)
        self._scrolled_off: list[str] = []

    def print(self, text: str) -> None:
        """Show `text` and a newline."""
        for line in f"{text}\n".splitlines(keepends=True):
            if self._screen.cursor.y == ROWS - 1 and line.endswith("\n"):
                self._scrolled_off.append(self._screen.display[0].rstrip())
            self._stream.feed(line)

    def lines(self) -> list[str]:
        """Every line shown so far, as it looks now, trailing spaces and blank lines left out."""
        shown = [*self._scrolled_off, *(line.rstrip() for line in self._screen.display)]
        while shown and not shown[-1]:
            shown.pop()
        return shown
