"""Silent clients: an unfinished HELLO is closed, a quiet client is sent PING, no PONG drops it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Set

from chatlib.app.protocol import ErrorCode, Ping, encode
from chatlib.app.server.connection import Connection
from chatlib.app.server.limits import ServerLimits

Drop = Callable[[Connection, ErrorCode, str], None]


async def watch_silences(connections: Set[Connection], limits: ServerLimits, drop: Drop) -> None:
    """One task for all connections: close unfinished hellos, PING the silent, drop the unanswered."""
    ping = encode(Ping())
    while True:
        await asyncio.sleep(limits.watch_interval())
        now = time.monotonic()
        for connection in list(connections):
            if connection.pseudo is None:
                if now - connection.connected_at > limits.hello_timeout:
                    drop(
                        connection, ErrorCode.TIMEOUT, f"no HELLO accepted within {limits.hello_timeout:g} s"
                    )
            elif connection.pinged_at is not None:
                if now - connection.pinged_at > limits.pong_timeout:
                    drop(connection, ErrorCode.TIMEOUT, f"no answer to PING within {limits.pong_timeout:g} s")
            elif now - connection.last_heard > limits.idle_timeout:
                connection.pinged_at = now
                connection.outbox.send(ping)
