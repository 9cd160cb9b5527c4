"""What the stages' command-line tools share: the address options, clean exits, safe display."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

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


@contextmanager
def clean_exit() -> Iterator[None]:
    """End a command-line tool with one short line, not a traceback, on Ctrl+C, Ctrl+D or a network error."""
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
        restore_blocking_terminal()


def restore_blocking_terminal() -> None:
    """Give the terminal back in blocking mode: aioconsole made it non-blocking, and the shell shares it."""
    if os.name == "posix" and sys.stdin is not None and not sys.stdin.closed and sys.stdin.isatty():
        os.set_blocking(sys.stdin.fileno(), True)


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
