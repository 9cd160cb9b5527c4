"""Who may connect: at most so many connections in all, and so many from one IP address."""

from __future__ import annotations

import asyncio
import logging

from chatlib.app.protocol import Error, ErrorCode, encode
from chatlib.app.server.connection import Connection
from chatlib.app.server.limits import ServerLimits
from chatlib.app.server.streams import ByteWriter

logger = logging.getLogger(__name__)


class Admission:
    """The connections being served, counted in all and per IP address against the server's limits."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self.connections: set[Connection] = set()
        self._per_ip: dict[str, int] = {}

    def refusal(self, ip: str) -> str | None:
        """Why a new connection from ``ip`` must be turned away, or None if it may come in."""
        limits = self.limits
        if len(self.connections) >= limits.max_connections:
            return f"the server is full ({limits.max_connections} connections)"
        if self._per_ip.get(ip, 0) >= limits.max_connections_per_ip:
            return f"too many connections from {ip} (at most {limits.max_connections_per_ip})"
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

    def turn_away(self, writer: ByteWriter, address: str, reason: str) -> None:
        """Refuse a connection over the limits: ERROR SERVER_FULL, then close (abort if unread)."""
        logger.warning("connection from %s refused: %s", address, reason)
        writer.write(encode(Error(ErrorCode.SERVER_FULL, reason)))
        writer.close()
        asyncio.get_running_loop().call_later(self.limits.close_grace, writer.transport.abort)
