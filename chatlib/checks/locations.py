"""Where in the student's code something happened: their file and line, never asyncio's or the checks'.

A report that says "at asyncio/streams.py, line 540" helps nobody: every place shown to a student
is the innermost frame of *their* code (a notebook cell, or their file), with the library call it
was inside of when that says something ("inside asyncio.streams").
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import linecache
import re
import sys
import sysconfig
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

CHECKS_FOLDER = Path(__file__).resolve().parent
LIBRARY_FOLDERS = tuple(
    {Path(sysconfig.get_paths()[name]).resolve() for name in ("stdlib", "platstdlib", "purelib", "platlib")}
)
NOTEBOOK_CELL_FILE = re.compile(r"(ipykernel_\d+[/\\]\d+\.py$)|(^<ipython-input-)")


@dataclass(frozen=True)
class Spot:
    """A line of the student's code: its file, line number, function and source text."""

    file: str
    line: int
    function: str
    code: str = ""
    inside: str = ""
    """The library function the student's line was calling, such as `asyncio.streams.readline`."""
    reads_ended_stream: bool = False
    """The student's code there holds a StreamReader whose connection has ended (reads give b'')."""

    def __str__(self) -> str:
        where = f"{describe_file(self.file)}, line {self.line}, in {self.function}"
        return f"{where}: {self.code}" if self.code else where


def describe_file(file: str) -> str:
    """How a report names a file: "your notebook cell" for a cell, else the path (relative when short)."""
    if NOTEBOOK_CELL_FILE.search(file):
        return "your notebook cell"
    try:
        return str(Path(file).resolve().relative_to(Path.cwd()))
    except ValueError:
        return file


@functools.lru_cache(maxsize=1024)
def is_library_file(file: str) -> bool:
    """True for Python's own modules, installed packages and the checks themselves."""
    if file.startswith("<"):
        return file.startswith("<frozen")
    path = Path(file).resolve()
    return path.is_relative_to(CHECKS_FOLDER) or any(
        path.is_relative_to(folder) for folder in LIBRARY_FOLDERS
    )


def module_of_file(file: str) -> str:
    """A short library name for a file, such as `asyncio.streams` or `requests.sessions`."""
    path = Path(file)
    for folder in sorted(LIBRARY_FOLDERS, key=lambda folder: len(str(folder)), reverse=True):
        if path.is_relative_to(folder):
            return ".".join(path.relative_to(folder).with_suffix("").parts)
    return path.stem


def spot(file: str, line: int, function: str, inside: str = "") -> Spot:
    """A Spot, with the line's source text when it can be found (notebook cells included)."""
    return Spot(file, line, function, linecache.getline(file, line).strip(), inside)


def innermost_student_spot(frames: Iterable[tuple[str, int, str]]) -> Spot | None:
    """The last of `frames` (outermost first: file, line, function) that is the student's, or None.

    When library frames follow it, `inside` names the library it was calling.
    """
    found: tuple[str, int, str] | None = None
    inside = ""
    for file, line, function in frames:
        if not is_library_file(file):
            found, inside = (file, line, function), ""
        elif found is not None and not inside:
            inside = f"{module_of_file(file)}.{function}"
    return None if found is None else spot(*found, inside=inside)


def frames_of_stack(top: FrameType | None) -> list[tuple[str, int, str]]:
    """A thread's stack from its current frame, outermost first."""
    frames = []
    while top is not None:
        frames.append((top.f_code.co_filename, top.f_lineno, top.f_code.co_name))
        top = top.f_back
    return frames[::-1]


def thread_spot(thread_ident: int) -> Spot | None:
    """Where the student's code is, right now, in the thread `thread_ident` (None if not in it)."""
    top = sys._current_frames().get(thread_ident)
    found = innermost_student_spot(frames_of_stack(top))
    if found is not None and holds_ended_stream(top):
        return dataclasses.replace(found, reads_ended_stream=True)
    return found


def holds_ended_stream(top: FrameType | None) -> bool:
    """True if a frame of the student's code on this stack holds a StreamReader at its end (EOF).

    A coroutine looping on `await reader.read(...)` after the peer left gets b'' at once, every
    time, and never lets the event loop run: this is how the checks recognize it.
    """
    while top is not None:
        if not is_library_file(top.f_code.co_filename):
            for value in list(top.f_locals.values()):
                if isinstance(value, asyncio.StreamReader) and value.at_eof():
                    return True
        top = top.f_back
    return False


def thread_is_idle(thread_ident: int) -> bool:
    """True when the thread's innermost frame is an event loop waiting for I/O (selectors)."""
    top = sys._current_frames().get(thread_ident)
    return top is None or module_of_file(top.f_code.co_filename) == "selectors"


def traceback_spot(error: BaseException) -> Spot | None:
    """The innermost line of the student's code an exception went through."""
    summary = traceback.extract_tb(error.__traceback__)
    return innermost_student_spot((frame.filename, frame.lineno or 0, frame.name) for frame in summary)


def last_frame(error: BaseException) -> tuple[str, int, str] | None:
    """The frame an exception was raised in (file, line, function), whoever's it is."""
    traceback_object: TracebackType | None = error.__traceback__
    if traceback_object is None:
        return None
    while traceback_object.tb_next is not None:
        traceback_object = traceback_object.tb_next
    code = traceback_object.tb_frame.f_code
    return code.co_filename, traceback_object.tb_lineno, code.co_name


def awaiting_frames(coroutine: Any) -> list[tuple[str, int, str]]:
    """Where a coroutine (a task's, say) is suspended, following its chain of awaits, outermost first."""
    frames = []
    while coroutine is not None:
        frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
        if frame is None:
            break
        frames.append((frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
        coroutine = getattr(coroutine, "cr_await", None) or getattr(coroutine, "gi_yieldfrom", None)
    return frames


def awaiting_spot(coroutine: Any) -> Spot | None:
    """The student's line where a coroutine is suspended."""
    return innermost_student_spot(awaiting_frames(coroutine))


def tasks_awaiting(functions: tuple[str, ...]) -> list[Spot]:
    """The student's lines where a task of the running loop awaits one of `functions`
    (library functions such as `asyncio.streams.readline`)."""
    found = []
    for task in asyncio.all_tasks():
        where = awaiting_spot(task.get_coro())
        if where is not None and where.inside in functions:
            found.append(where)
    return found
