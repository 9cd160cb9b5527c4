"""What ``ChatServer`` needs of a connection: a reader of bytes and a writer with its transport.

asyncio's ``StreamReader`` and ``StreamWriter`` (a TCP connection from ``asyncio.start_server``)
have all of it; so do the web front's adapters for a browser's WebSocket (``chatlib.app.web``).
The server's code is the same for both: it reads bytes, writes bytes, and watches the
transport's buffer for backpressure (``outbox.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol


class ByteReader(Protocol):
    """Where a client's bytes come from."""

    async def read(self, n: int = -1) -> bytes:
        """Some bytes (at most ``n``), as soon as there are any; ``b""`` once the client is gone."""
        ...


class ByteWriter(Protocol):
    """Where a client's bytes go: written without waiting, drained by those who must wait."""

    @property
    def transport(self) -> asyncio.WriteTransport:
        """The transport under the writer: its buffer size tells whether the client keeps up."""
        ...

    def write(self, data: bytes) -> None:
        """Queue bytes for the client (no waiting)."""
        ...

    def close(self) -> None:
        """Close once what is queued is sent."""
        ...

    async def drain(self) -> None:
        """Wait until the transport's buffer is below its low-water mark."""
        ...

    async def wait_closed(self) -> None:
        """Wait until the connection is closed."""
        ...

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """What the transport knows: ``"peername"``, ``"socket"``..."""
        ...
