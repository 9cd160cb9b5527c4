"""Who may connect: at most so many connections in all, so many from one IP address, and so often.

Connecting costs the server work before a single frame arrives (accepting, a task, an answer),
so each IP address has an allowance of connections per second, as a client has of frames: a
client that reconnects in a loop is refused after its burst.
"""

from __future__ import annotations

import asyncio
import logging

from chatlib.app.protocol import Error, ErrorCode, encode
from chatlib.app.server.connection import Connection
from chatlib.app.server.console_budget import LineBudget
from chatlib.app.server.limits import ServerLimits
from chatlib.app.server.ratelimit import AddressAllowance
from chatlib.app.server.streams import ByteWriter

logger = logging.getLogger(__name__)


class Admission:
    """The connections being served, counted in all and per IP address against the server's limits."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self.connections: set[Connection] = set()
        self._per_ip: dict[str, int] = {}
        self._connecting = None if limits.connect_rate is None else AddressAllowance(limits.connect_rate)
        self._refusal_lines = LineBudget(_report_held_back_refusals)  # a count, under a flood

    def refusal(self, ip: str) -> Error | None:
        """The ERROR that turns a new connection from ``ip`` away, or None if it may come in."""
        limits = self.limits
        if len(self.connections) >= limits.max_connections:
            return Error(ErrorCode.SERVER_FULL, f"the server is full ({limits.max_connections} connections)")
        if self._per_ip.get(ip, 0) >= limits.max_connections_per_ip:
            return Error(
                ErrorCode.SERVER_FULL,
                f"too many connections from {ip} (at most {limits.max_connections_per_ip})",
            )
        if self._connecting is not None and not self._connecting.take(ip):
            rate = self._connecting.allowance
            return Error(
                ErrorCode.RATE_LIMITED,
                f"too many connections from {ip} in a short time (at most {rate.per_second:g} a second "
                f"after the first {rate.burst}); try again in a moment",
            )
        return None

    def admit(self, connection: Connection) -> None:
        """Count a connection in."""
        self.connections.add(connection)
        self._per_ip[connection.ip] = self._per_ip.get(connection.ip, 0) + 1

    def release(self, connection: Connection) -> None:
        """Count a connection out (it is going away)."""
        self.connections.discard(connection)
        remaining = self._per_ip.pop(connection.ip, 1) - 1
        if remaining:
            self._per_ip[connection.ip] = remaining

    def turn_away(self, writer: ByteWriter, address: str, refusal: Error) -> None:
        """Refuse a connection over the limits: the ERROR, then close (abort if unread)."""
        if self._refusal_lines.take():
            logger.warning("connection from %s refused: %s", address, refusal.text)
        writer.write(encode(refusal))
        writer.close()
        asyncio.get_running_loop().call_later(self.limits.close_grace, writer.transport.abort)


def _report_held_back_refusals(count: int) -> None:
    """Say on the console how many more connections were refused in the last second."""
    logger.warning("%d more connections refused (not shown one by one)", count)
