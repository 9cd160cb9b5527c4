"""What ``ChatServer`` needs of a connection: a writer with its transport, and (read in a loop) a reader.

A TCP client is an asyncio protocol (``client_protocol.py``): asyncio hands the server its bytes
as they arrive, and the ``ClientProtocol`` is the client's ``ByteWriter``. A browser's WebSocket
comes as a ``ByteReader`` and a ``ByteWriter`` (the web front's adapters, ``chatlib.app.web``),
which ``ChatServer.serve_connection`` reads in a loop, as a stage reads a ``StreamReader``
(asyncio's ``StreamReader`` and ``StreamWriter`` fit these shapes too). Either way the same code
acts on the bytes (``dispatch.py``), writes bytes and watches the transport's buffer for
backpressure (``outbox.py``).
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
