"""Reading one client: bytes become frames (decoding.py), and each frame goes where it belongs.

Frames are handled synchronously, between two reads: a state change such as "bob enters jeux" is
never interleaved with another client's. The one exception is an image, checked in the image
worker's process while that client's next frames wait (the other clients carry on).

What a client can make the server do is bounded at each step: every frame it sends costs it a
token of its rate limit (connecting costs its address one too, see admission.py); under a rate
limit what a read brings is decoded a few kilobytes at a time, so that frames waiting for their
turn wait as bytes, not as decoded objects ten times their size; and the frame it is in the
middle of sending counts against the server's memory budget (memory.py).
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
from chatlib.app.server.memory import MemoryBudget
from chatlib.app.server.relay import RoomRelay

READ_SIZE = 64 * 1024
DECODE_STEP = 4096  # under a rate limit, bytes decoded at once: more frames than a burst would only wait
# Until its HELLO is accepted a client may not start a large frame (an IMAGE of 2 MiB): strangers
# cannot make the server buffer more than this each.
MAX_PENDING_BEFORE_HELLO = 6 + MAX_PAYLOAD[FrameType.HELLO]


class FrameDispatcher:
    """Reads a client's frames and acts on each, in the order the protocol allows."""

    def __init__(self, lobby: Lobby, relay: RoomRelay, budget: MemoryBudget) -> None:
        self._lobby = lobby
        self._relay = relay
        self._budget = budget

    async def read_frames(self, reader: asyncio.StreamReader, connection: Connection) -> None:
        """Read, decode and handle frames until the client leaves; a ProtocolError ends it too."""
        decoder = FrameDecoder("client")
        budget = self._budget
        held = 0  # bytes of an unfinished frame, counted in the server's memory budget
        try:
            while not connection.leaving:
                data = await reader.read(READ_SIZE if connection.pseudo else MAX_PENDING_BEFORE_HELLO)
                if not data:
                    return
                connection.last_heard = time.monotonic()
                connection.pinged_at = None  # anything at all proves the client is there
                step = DECODE_STEP if connection.flood_guard is not None else len(data)
                for start in range(0, len(data), step):
                    piece = data if step == len(data) else data[start : start + step]
                    try:
                        frames = decoder.feed(piece)
                    except ProtocolError as error:
                        await self._handle_all(connection, error.frames_before)
                        raise
                    held_before, held = held, decoder.pending_bytes
                    within_budget = held == held_before or budget.change(held_before, held)
                    await self._handle_all(connection, frames)
                    self._check_pending(connection, held, within_budget)
                    if connection.leaving:
                        break
        finally:
            budget.change(held, 0)

    def _check_pending(self, connection: Connection, held: int, within_budget: bool) -> None:
        """ProtocolError if the frame being received may not be: a large one from a stranger, or one
        that takes the server's memory budget over its limit."""
        if connection.pseudo is None and held > MAX_PENDING_BEFORE_HELLO:
            raise ProtocolError(ErrorCode.TOO_LARGE, "only a HELLO is expected before a pseudo is accepted")
        if not within_budget:
            raise ProtocolError(
                ErrorCode.SERVER_FULL,
                f"the server is full: it holds {self._budget.describe()} for its clients already, "
                "so it cannot take your frame now (try again later)",
            )

    async def _handle_all(self, connection: Connection, frames: Iterable[Frame]) -> None:
        """Handle frames in order; an image waits for its check before the next frame is handled.

        With a rate limit, every frame costs a token (an IMAGE ``IMAGE_COST``): one over it waits
        for its token (this client's reading stops meanwhile), and Flooding ends the connection
        once a flood goes on, whatever the frames (a loop of PONGs or of refused HELLOs too).
        """
        guard = connection.flood_guard
        for frame in frames:
            if connection.leaving:
                return
            if guard is not None:
                wait = guard.delay(IMAGE_COST if type(frame) is SendImage else 1)
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
