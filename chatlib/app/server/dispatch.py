"""Acting on what a client sends: bytes become frames (decoding.py), and each frame goes where it belongs.

Frames are handled synchronously, as soon as a read brings them: a state change such as "bob
enters jeux" is never interleaved with another client's. Three frames must wait for something
first: a HELLO (judged by the lobby, which on a cluster node asks the other nodes), an IMAGE
(checked in the image worker's process) and any frame over the client's rate limit (its token
comes later). ``received`` then acts on the frames before it and hands back a coroutine that
waits and does the rest; the server stops reading that client until it is done (the other
clients carry on). The steps are written once, as a generator that yields what must be waited
for: ``received`` runs it without any task for as long as nothing must wait, which is nearly
always.

What a client can make the server do is bounded at each step: every frame it sends costs it a
token of its rate limit (connecting costs its address one too, see admission.py); under a rate
limit what a read brings is decoded a few kilobytes at a time, so that frames waiting for their
turn wait as bytes, not as decoded objects ten times their size (the rest of a large frame
still arriving is decoded in one piece: it can make only that frame); and the frame it is in the
middle of sending counts against the server's memory budget (memory.py), at the size its header
announces: a frame the server has no room for is refused from its first bytes, not read first.

The SAYs of one read are relayed together (``RoomRelay.say_all``): one look at the clock, one
run in the room's broadcast, the history and the log written in one piece.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Coroutine, Iterator, Sequence
from typing import Any

from chatlib.app.protocol import (
    MAX_PAYLOAD,
    Bye,
    EnterRoom,
    ErrorCode,
    Frame,
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

READ_SIZE = 64 * 1024  # what a stream-based connection (the web page's) asks for at each read
DECODE_STEP = 4096  # under a rate limit, bytes decoded at once: more frames than a burst would only wait
# Until its HELLO is accepted a client may not start a large frame (an IMAGE of 2 MiB): strangers
# cannot make the server buffer more than this each.
MAX_PENDING_BEFORE_HELLO = 6 + MAX_PAYLOAD[FrameType.HELLO]

Waiting = Coroutine[Any, Any, None]


class FrameDispatcher:
    """Decodes a client's bytes and acts on each frame, in the order the protocol allows."""

    def __init__(self, lobby: Lobby, relay: RoomRelay, budget: MemoryBudget) -> None:
        self._lobby = lobby
        self._relay = relay
        self._budget = budget

    def received(self, connection: Connection, data: bytes) -> Waiting | None:
        """Act on the bytes one read brought: None once done, or a coroutine that finishes the work.

        The coroutine is returned when a frame must wait (see the module's docstring): the caller
        awaits it before reading this client again. ProtocolError or Flooding, raised here or by
        the coroutine, end the connection.
        """
        connection.last_heard = time.monotonic()
        connection.pinged_at = None  # anything at all proves the client is there
        steps = self._steps(connection, data)
        for wait in steps:  # the steps run here until the first thing that must be waited for
            return _finish(wait, steps)
        return None

    def forget(self, connection: Connection) -> None:
        """The connection is over: the bytes of its unfinished frame leave the memory budget."""
        self._budget.change(connection.held, 0)
        connection.held = 0

    def _steps(self, connection: Connection, data: bytes) -> Iterator[Awaitable[Any]]:
        """Decode ``data`` piece by piece and act on its frames; yield what must be awaited on the way."""
        start, size = 0, len(data)
        while start < size and not connection.leaving:
            if connection.pseudo is None:
                step = MAX_PENDING_BEFORE_HELLO  # a stranger's bytes wait undecoded behind its HELLO
            elif connection.flood_guard is not None:  # a few frames at a time, or the rest of a large one
                step = max(DECODE_STEP, connection.held - connection.decoder.pending_bytes)
            else:
                step = size
            piece = data if start == 0 and step >= size else data[start : start + step]
            start += len(piece)
            decoder = connection.decoder
            try:
                frames = decoder.feed(piece)
            except ProtocolError as error:
                yield from self._act_on(connection, error.frames_before)
                raise
            held_before = connection.held
            connection.held = held = decoder.pending_frame_size
            within_budget = held == held_before or self._budget.change(held_before, held)
            yield from self._act_on(connection, frames)
            self._check_pending(connection, held, within_budget)

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

    def _act_on(self, connection: Connection, frames: Sequence[Frame]) -> Iterator[Awaitable[Any]]:
        """Act on frames in order; yield what must be awaited first (an image's check, a HELLO's
        verdict, a token of the rate limit).

        With a rate limit, every frame costs a token (an IMAGE ``IMAGE_COST``): one over it waits
        for its token (this client's reading stops meanwhile), and Flooding ends the connection
        once a flood goes on, whatever the frames (a loop of PONGs or of refused HELLOs too).
        Without one, the SAYs that follow each other are relayed together.
        """
        guard = connection.flood_guard
        index, count = 0, len(frames)
        while index < count and not connection.leaving:
            frame = frames[index]
            index += 1
            if guard is None and type(frame) is Say and connection.room is not None:
                end = index
                while end < count and type(frames[end]) is Say:
                    end += 1
                texts = [say.text for say in frames[index - 1 : end] if isinstance(say, Say)]
                self._relay.say_all(connection, connection.room, texts)
                index = end
                continue
            if guard is not None:
                wait = guard.delay(IMAGE_COST if type(frame) is SendImage else 1)
                if wait:
                    yield asyncio.sleep(wait)
                    if connection.leaving:
                        return
            if isinstance(frame, SendImage):
                yield self._relay.share_image(connection, frame.data)
            elif isinstance(frame, Hello) and connection.pseudo is None:
                yield self._lobby.greet(connection, frame.pseudo, frame.token)  # a cluster node asks others
            else:
                self._handle(connection, frame)

    def _handle(self, connection: Connection, frame: Frame) -> None:
        """Act on one frame from a client, in the order the protocol allows."""
        match frame:
            case Say(text):
                if connection.room is None:
                    raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "SAY before ENTER_ROOM")
                self._relay.say_all(connection, connection.room, [text])
            case Hello():  # the first one was greeted by _act_on
                raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "HELLO was already accepted")
            case EnterRoom(room_name):
                if connection.pseudo is None:
                    raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "ENTER_ROOM before HELLO")
                self._relay.enter(connection, room_name)
            case Pong():
                pass  # reading it already marked the client alive (see received)
            case Bye():
                connection.leaving = True
            case _:
                raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, f"not a client frame: {type(frame).__name__}")


async def _finish(wait: Awaitable[Any], steps: Iterator[Awaitable[Any]]) -> None:
    """Await what the steps wait for, one after the other, until they are done."""
    await wait
    for wait in steps:
        await wait
