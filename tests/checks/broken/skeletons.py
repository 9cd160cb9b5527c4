"""A student's file before they start: every function is the notebook's skeleton."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def start_server(host: str, port: int, show: Callable[[str], None] = print) -> asyncio.Server:
    """Start the stage's chat server on host:port and return it."""
    raise NotImplementedError


async def run_client(
    host: str, port: int, read_line: Callable[[str], Awaitable[str]], show: Callable[[str], None] = print
) -> None:
    """Chat: send what the user types, show what the server sends, both at once."""
    ...
