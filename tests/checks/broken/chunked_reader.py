"""A broken Part III client: it reads fixed 1024-byte chunks and takes each one as one frame."""

from __future__ import annotations

import asyncio

from chatlib.app.protocol import FrameDecoder, ServerFrame, encode  # noqa: F401 (encode: for the checks)


async def read_frame(reader: asyncio.StreamReader) -> ServerFrame | None:
    """The next frame; the bug: glued frames are lost and a long frame is cut at 1024 bytes."""
    data = await reader.read(1024)
    if not data:
        return None
    frames = FrameDecoder("server").feed(data)
    return frames[0] if frames else None
