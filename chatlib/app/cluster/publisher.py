"""What this node's rooms hear, sent to the other nodes: stored by JetStream first, then published live.

The relay hands every frame it sends a room to ``add`` (no I/O there). The frames wait in one
batch per room; a single task takes all the batches waiting, publishes them to the history
stream, waits for JetStream's acknowledgements, then publishes them live to the room subjects.
While JetStream works on one round, the next round's batches fill up: the busier the rooms,
the larger the batches, and the cost per message goes down (as with the room's broadcast of
one loop turn, broadcast.py).

Publishing live only what JetStream has acknowledged gives the guarantee the tests check: a
message that a member on another node received is in the history, whatever node dies next.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from chatlib.app.cluster.envelope import RoomBatch
from chatlib.app.cluster.subjects import history_subject, room_subject
from chatlib.app.protocol.history import HistoryEntry
from chatlib.app.protocol.names import name_key

logger = logging.getLogger(__name__)

MAX_BATCH_BYTES = 256 * 1024  # frames per batch; an image (up to 2 MiB) gets a batch of its own
ACK_TIMEOUT = 2.0  # seconds to wait for JetStream to acknowledge a round before trying it again
RETRY_PAUSE = 0.2


class RoomPublisher:
    """The batches waiting to be stored and published, and the task that sends them in rounds."""

    def __init__(
        self, node: str, connection: Client, jetstream: JetStreamContext, patience: float,
        give_up: Callable[[str], None],
    ) -> None:
        self._node = node
        self._connection = connection
        self._jetstream = jetstream
        self._patience = patience
        self._give_up = give_up
        self._open: dict[str, RoomBatch] = {}  # the batch each room is filling, by room key
        self._full: list[RoomBatch] = []  # batches closed because they reached MAX_BATCH_BYTES
        self._number = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.batches_acknowledged = 0
        self.entries_acknowledged = 0

    def add(self, room: str, frame: bytes, entry: HistoryEntry) -> None:
        """Queue what a room heard for the next round (no I/O here: the relay must not wait)."""
        key = name_key(room)
        batch = self._open.get(key)
        if batch is not None and batch.frames and batch.size + len(frame) > MAX_BATCH_BYTES:
            self._full.append(batch)
            batch = None
        if batch is None:
            batch = self._open[key] = RoomBatch(room)
        batch.add(frame, entry)
        self._idle.clear()
        self._wake.set()

    async def wait_until_sent(self, timeout: float) -> bool:
        """Wait until every batch queued so far is stored and published; False if ``timeout`` passed."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def run(self) -> None:
        """Send round after round, for as long as the node runs."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            batches, self._full, self._open = [*self._full, *self._open.values()], [], {}
            for batch in batches:
                self._number += 1
                batch.origin, batch.number = self._node, self._number
            if await self._store(batches):
                await self._publish_live(batches)
            if not self._open and not self._full:
                self._idle.set()

    async def _store(self, batches: list[RoomBatch]) -> bool:
        """Publish the batches to the history stream until JetStream acknowledges each one.

        A batch sent again carries the same Nats-Msg-Id, so JetStream stores it once. After
        ``patience`` seconds without success the node gives up (it cannot keep its promise).
        """
        started = time.monotonic()
        waiting = batches
        while waiting:
            results = await asyncio.gather(
                *(
                    self._jetstream.publish(
                        history_subject(batch.room), batch.history_bytes(), timeout=ACK_TIMEOUT,
                        headers={"Nats-Msg-Id": batch.batch_id},
                    )
                    for batch in waiting
                ),
                return_exceptions=True,
            )
            failures = [(batch, result) for batch, result in zip(waiting, results) if isinstance(result, Exception)]
            for batch, result in zip(waiting, results):
                if not isinstance(result, Exception):
                    self.batches_acknowledged += 1
                    self.entries_acknowledged += len(batch.entries)
            if not failures:
                return True
            reason = _reason(failures[0][1])
            if time.monotonic() - started > self._patience:
                self._give_up(f"the history stream acknowledged nothing for {self._patience:g} s ({reason})")
                return False
            logger.warning("history not acknowledged yet (%s); %d batch(es) sent again", reason, len(failures))
            await asyncio.sleep(RETRY_PAUSE)
            waiting = [batch for batch, _ in failures]
        return True

    async def _publish_live(self, batches: list[RoomBatch]) -> None:
        """Publish the stored batches to their rooms' subjects, in order (at most once: core NATS)."""
        for batch in batches:
            try:
                await self._connection.publish(room_subject(batch.room), batch.live_bytes())
            except nats.errors.Error as error:
                logger.warning("a batch of room %s was stored but not published live: %s", batch.room, _reason(error))


def _reason(error: BaseException) -> str:
    """A short description of a NATS error, for one log line."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
