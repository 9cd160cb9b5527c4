"""Reading one client: bytes become frames (decoding.py), and each frame goes where it belongs.

Frames are handled synchronously, between two reads: a state change such as "bob enters jeux" is
never interleaved with another client's. The one exception is an image, checked in the image
worker's process while that client's next frames wait (the other clients carry on).

What a client can make the server do is bounded at each step: every frame it sends costs it a
token of its rate limit (connecting costs its address one too, see admission.py); a read takes
at most a few kilobytes once a rate limit applies, so the frames decoded and waiting for their
turn stay few; and the frame it is in the middle of sending counts against the server's memory
budget (memory.py).
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

READ_SIZE = 64 * 1024  # without a rate limit (benchmarks): as much as a read brings
RATE_LIMITED_READ_SIZE = 4096  # with one: more frames than its burst would only wait, decoded
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
                data = await reader.read(self._read_size(connection))
                if not data:
                    return
                connection.last_heard = time.monotonic()
                connection.pinged_at = None  # anything at all proves the client is there
                try:
                    frames = decoder.feed(data)
                except ProtocolError as error:
                    await self._handle_all(connection, error.frames_before)
                    raise
                held_before, held = held, decoder.pending_bytes
                within_budget = held == held_before or budget.change(held_before, held)
                await self._handle_all(connection, frames)
                if connection.pseudo is None and held > MAX_PENDING_BEFORE_HELLO:
                    raise ProtocolError(
                        ErrorCode.TOO_LARGE, "only a HELLO is expected before a pseudo is accepted"
                    )
                if not within_budget:
                    raise ProtocolError(
                        ErrorCode.SERVER_FULL,
                        f"the server is full: it holds {budget.describe()} for its clients already, "
                        "so it cannot take your frame now (try again later)",
                    )
        finally:
            budget.change(held, 0)

    @staticmethod
    def _read_size(connection: Connection) -> int:
        """How much to read at once: a HELLO's worth before one is accepted, a few frames' worth
        under a rate limit, as much as there is without one."""
        if connection.pseudo is None:
            return MAX_PENDING_BEFORE_HELLO
        return READ_SIZE if connection.flood_guard is None else RATE_LIMITED_READ_SIZE

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
