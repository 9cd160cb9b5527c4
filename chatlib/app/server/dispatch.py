"""Reading one client: bytes become frames (decoding.py), and each frame goes where it belongs.

Frames are handled synchronously, between two reads: a state change such as "bob enters jeux" is
never interleaved with another client's. The one exception is an image, checked in a worker
thread while that client's next frames wait (the other clients carry on).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from chatlib.app.protocol import (
    MAX_PAYLOAD,
    Bye,
    EnterRoom,
    ErrorCode,
    Frame,
    FrameDecoder,
    FrameType,
    Hello,
    Pong,
    ProtocolError,
    Say,
    SendImage,
)
from chatlib.app.server.connection import Connection
from chatlib.app.server.limits import IMAGE_COST
from chatlib.app.server.lobby import Lobby
from chatlib.app.server.relay import RoomRelay

READ_SIZE = 64 * 1024
# Until its HELLO is accepted a client may not start a large frame (an IMAGE of 2 MiB): strangers
# cannot make the server buffer more than this each.
MAX_PENDING_BEFORE_HELLO = 6 + MAX_PAYLOAD[FrameType.HELLO]


class FrameDispatcher:
    """Reads a client's frames and acts on each, in the order the protocol allows."""

    def __init__(self, lobby: Lobby, relay: RoomRelay) -> None:
        self._lobby = lobby
        self._relay = relay

    async def read_frames(self, reader: asyncio.StreamReader, connection: Connection) -> None:
        """Read, decode and handle frames until the client leaves; a ProtocolError ends it too."""
        decoder = FrameDecoder("client")
        while not connection.leaving:
            data = await reader.read(READ_SIZE)
            if not data:
                return
            connection.last_heard = time.monotonic()
            connection.pinged_at = None  # anything at all proves the client is there
            try:
                frames = decoder.feed(data)
            except ProtocolError as error:
                await self._handle_all(connection, error.frames_before)
                raise
            await self._handle_all(connection, frames)
            if connection.pseudo is None and decoder.pending_bytes > MAX_PENDING_BEFORE_HELLO:
                raise ProtocolError(
                    ErrorCode.TOO_LARGE, "only a HELLO is expected before a pseudo is accepted"
                )

    async def _handle_all(self, connection: Connection, frames: Iterable[Frame]) -> None:
        """Handle frames in order; an image waits for its check before the next frame is handled.

        With a rate limit, a SAY, IMAGE or ENTER_ROOM (each reaches a whole room) over it waits
        for its token (this client's reading stops meanwhile); Flooding ends the connection once
        a flood goes on.
        """
        guard = connection.flood_guard
        for frame in frames:
            if connection.leaving:
                return
            if guard is not None and isinstance(frame, (Say, SendImage, EnterRoom)):
                wait = guard.delay(IMAGE_COST if isinstance(frame, SendImage) else 1)
                if wait:
                    await asyncio.sleep(wait)
                    if connection.leaving:
                        return
            if isinstance(frame, SendImage):
                await self._relay.share_image(connection, frame.data)
            elif isinstance(frame, Hello) and connection.pseudo is None:
                await self._lobby.greet(connection, frame.pseudo, frame.token)  # a cluster node asks others
            else:
                self._handle(connection, frame)

    def _handle(self, connection: Connection, frame: Frame) -> None:
        """Act on one frame from a client, in the order the protocol allows."""
        match frame:
            case Say(text):
                if connection.room is None:
                    raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "SAY before ENTER_ROOM")
                self._relay.say(connection, connection.room, text)
            case Hello():  # the first one was greeted by _handle_all
                raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "HELLO was already accepted")
            case EnterRoom(room_name):
                if connection.pseudo is None:
                    raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "ENTER_ROOM before HELLO")
                self._relay.enter(connection, room_name)
            case Pong():
                pass  # reading it already marked the client alive (see read_frames)
            case Bye():
                connection.leaving = True
            case _:
                raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, f"not a client frame: {type(frame).__name__}")
