"""What the stages' command-line tools share: address options, the keyboard, clean exits, safe display."""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from aioconsole import ainput
from prompt_toolkit import PromptSession

try:
    import termios
except ImportError:  # Windows has no termios: its console is left alone
    termios = None  # type: ignore[assignment]

TerminalSettings = list[Any]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8888


def port_number(text: str) -> int:
    """A TCP port from the command line: an integer from 0 to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 0 and 65535, not {port}")
    return port


def command_name() -> str | None:
    """How the running tool was started, such as `python -m chatlib.stages.ii_6.client`, if with -m."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    return f"python -m {spec.name}" if spec is not None else None


def parse_address(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse `-a/--address` and `-p/--port` (default 127.0.0.1:8888) for a server or a client."""
    parser = argparse.ArgumentParser(prog=command_name(), description=description)
    parser.add_argument(
        "-a", "--address", default=DEFAULT_HOST, help=f"the server's IP address (default {DEFAULT_HOST})"
    )
    parser.add_argument(
        "-p",
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"the server's TCP port (default {DEFAULT_PORT})",
    )
    return parser.parse_args(argv)


@functools.cache
def typing_session() -> PromptSession[str]:
    """The terminal's line editor, made once: it also remembers the lines typed (Up and Down recall them)."""
    return PromptSession()


async def read_typed_line(prompt: str) -> str:
    """Wait for the next line the user types, without blocking the event loop: an asynchronous input().

    The lab sheet suggests `aioconsole.ainput()`, but the terminal itself echoes what it reads, and
    a message printed meanwhile wipes out the line being typed (the keys are still there, unseen).
    prompt_toolkit edits the line itself instead: run the client inside `patch_stdout()`, and
    everything printed goes above the line being typed, which stays on screen, intact.
    Input from a pipe or a file has no one typing, and is read with ainput().
    Raises EOFError when the user ends with Ctrl+D or Ctrl+C, or at the end of the input.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return await ainput()
    try:
        return await typing_session().prompt_async(prompt)
    except KeyboardInterrupt:
        # prompt_toolkit reads Ctrl+C as a key and raises KeyboardInterrupt, which asyncio
        # mishandles inside a task (a stray traceback): end the input as Ctrl+D does.
        raise EOFError("Ctrl+C") from None


def keyboard_terminal() -> int | None:
    """The file descriptor of the terminal the keyboard types into, if it is one we can restore."""
    if termios is None or sys.stdin is None or sys.stdin.closed or not sys.stdin.isatty():
        return None
    descriptor = sys.stdin.fileno()
    # Only the program in the foreground may set the terminal (one in the background would be stopped).
    return descriptor if os.tcgetpgrp(descriptor) == os.getpgrp() else None


def terminal_settings() -> TerminalSettings | None:
    """The keyboard terminal's settings as they are now, to give it back as found."""
    descriptor = keyboard_terminal()
    return None if descriptor is None else termios.tcgetattr(descriptor)


def restore_terminal(settings: TerminalSettings | None) -> None:
    """Give the terminal back as found, dropping keys typed but never read: the shell must not run them."""
    descriptor = keyboard_terminal()
    if settings is not None and descriptor is not None:
        termios.tcsetattr(descriptor, termios.TCSAFLUSH, settings)


@contextmanager
def clean_exit() -> Iterator[None]:
    """End a command-line tool with one short line, not a traceback, on Ctrl+C, Ctrl+D or a network error.

    The terminal is left as it was found, with nothing typed left over for the shell.
    """
    settings = terminal_settings()
    try:
        yield
    except (KeyboardInterrupt, EOFError):
        print("\nBye.")
    except ConnectionRefusedError as error:
        sys.exit(f"\nCannot connect: {error.strerror or error}. Is the server running?")
    except ConnectionError as error:
        sys.exit(f"\nConnection lost: {error}")
    except OSError as error:
        sys.exit(f"\nError: {error}")
    finally:
        restore_terminal(settings)


def quiet_cancelled_connections() -> None:
    """Stop Python 3.11 from printing a traceback for each connection that Ctrl+C ends.

    Stopping a server cancels its connections' tasks, and 3.11's `asyncio.start_server` reports
    each cancelled one as an error (3.12 fixed it). Any other error is still reported.
    """
    if sys.version_info >= (3, 12):
        return

    def report_unless_cancelled(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not isinstance(context.get("exception"), asyncio.CancelledError):
            loop.default_exception_handler(context)

    asyncio.get_running_loop().set_exception_handler(report_unless_cancelled)


def printable(text: str) -> str:
    """Text safe to show on a terminal: control characters become visible escapes such as \\x1b."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
