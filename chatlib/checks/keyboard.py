"""No keyboard during a check: input() and sys.stdin raise at once instead of waiting forever.

A check has nobody to type, and in a notebook input() would open a box the cell waits on. Each
use is recorded with the student's line, so the report can say "use read_line" where it happened.
"""

from __future__ import annotations

import builtins
import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from chatlib.checks.locations import Spot, innermost_student_spot

STDIN_USE = "read sys.stdin (directly, or through aioconsole.ainput())"


class KeyboardUnavailable(RuntimeError):
    """input() or sys.stdin was used during a check, which has no keyboard."""


KEYBOARD_USES: list[tuple[str, Spot | None]] = []
"""Each use of input() or sys.stdin during a check: what was called, and at which student line."""
_keyboard_lock = threading.Lock()
_keyboard_depth = 0
_saved_keyboard: tuple[Any, Any] = (None, None)


def _note_keyboard_use(what: str) -> NoReturn:
    frames = []
    frame = sys._getframe(1)
    while frame is not None:
        frames.append((frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
        frame = frame.f_back
    KEYBOARD_USES.append((what, innermost_student_spot(reversed(frames))))
    raise KeyboardUnavailable(f"your code {what}, which waits for a keyboard, and a check has none")


def _input_during_check(prompt: object = "") -> NoReturn:
    _note_keyboard_use("called input()")


class _NoKeyboard(io.TextIOBase):
    """What sys.stdin is during a check: reading it raises KeyboardUnavailable at once."""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> NoReturn:
        _note_keyboard_use(STDIN_USE)

    def readline(self, size: int | None = -1) -> NoReturn:  # type: ignore[override]
        _note_keyboard_use(STDIN_USE)

    def fileno(self) -> NoReturn:
        raise io.UnsupportedOperation("a check has no keyboard")

    def isatty(self) -> bool:
        return False


@contextmanager
def no_keyboard() -> Iterator[list[tuple[str, Spot | None]]]:
    """While checks run, input() and sys.stdin raise KeyboardUnavailable instead of waiting forever.

    Nested uses share one patch; the originals come back when the outermost ends. Yields the
    list of uses, where each new one is appended.
    """
    global _keyboard_depth, _saved_keyboard
    with _keyboard_lock:
        if _keyboard_depth == 0:
            _saved_keyboard = (builtins.input, sys.stdin)
            builtins.input = _input_during_check
            sys.stdin = _NoKeyboard()
        _keyboard_depth += 1
    try:
        yield KEYBOARD_USES
    finally:
        with _keyboard_lock:
            _keyboard_depth -= 1
            if _keyboard_depth == 0:
                builtins.input, sys.stdin = _saved_keyboard
