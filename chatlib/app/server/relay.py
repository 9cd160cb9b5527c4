"""Rooms and relaying: entering and leaving rooms, and what a member says reaching the others.

Every message is encoded once and handed to the room's broadcast (broadcast.py), which delivers
a loop turn's messages to each member in one piece; each is also recorded in the room's history.
What one read of a client brings is relayed together (``say_all``): a flood costs the server
little more per message than encoding it once and writing its history line.
Images are checked in the image worker's process first (shared/image_worker.py): their decoding
never runs on the event loop, nor on the thread that saves the history.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from chatlib.app.protocol import (
    MAX_ROOM_LENGTH,
    Announcement,
    Error,
    ErrorCode,
    History,
    ImageFrom,
    ProtocolError,
    RoomEntered,
    encode,
    wording,
)
from chatlib.app.protocol.history import HistoryEntry, history_payload
from chatlib.app.protocol.names import BadName, clean_name, name_key
from chatlib.app.server.connection import Connection
from chatlib.app.server.console_budget import DEFAULT_LINES_PER_SECOND, LineBudget
from chatlib.app.server.persistence import ServerStore
from chatlib.app.server.rooms import Room, RoomRegistry
from chatlib.app.server.sharing import StandAlone
from chatlib.app.shared.image_worker import ImageWorker
from chatlib.app.shared.images import BadImage, check_image
from chatlib.app.shared.terminal_text import printable

logger = logging.getLogger(__name__)


class RoomRelay:
    """The rooms' side of the server: who enters and leaves, and what they say to the others."""

    def __init__(
        self,
        store: ServerStore,
        rooms: RoomRegistry[Connection],
        clock: Callable[[], int],
        sharing: StandAlone | None = None,
        images: ImageWorker | None = None,
        max_rooms: int = 1000,
    ) -> None:
        self._store = store
        self._sharing = sharing or StandAlone()  # other servers of a cluster hear the rooms too
        self._history = store.history
        self._rooms = rooms
        self._clock = clock
        self.images = images or ImageWorker()
        self._max_rooms = max_rooms
        self.message_lines = LineBudget(_report_held_back_lines)  # the console's line per message
        # a cluster node hands every message to the other nodes; a standalone server need not build them
        self._tells_others = type(self._sharing).relayed is not StandAlone.relayed

    def enter(self, connection: Connection, wanted_room: str) -> None:
        """Move the client into a room (created if new): ENTERED, then the room hears of it."""
        try:
            room_name = clean_name(wanted_room, MAX_ROOM_LENGTH, "room name")
        except BadName as reason:
            connection.send_frame(Error(ErrorCode.BAD_ROOM, str(reason)))
            return
        assert connection.pseudo is not None
        old_room = connection.room
        if old_room is not None:
            if name_key(old_room.name) == name_key(room_name):
                connection.send_frame(RoomEntered(old_room.name))
                return
        if len(self._rooms) >= self._max_rooms and self._rooms.find(room_name) is None:
            text = f"there are {self._max_rooms} rooms already, the most; enter one of them"
            connection.send_frame(Error(ErrorCode.BAD_ROOM, text))
            return
        if old_room is not None:
            self.leave_room(connection, old_room, wording.moved_to(connection.pseudo, room_name))
        room = self._rooms.enter(room_name, connection)
        self._history.keep(room.name)
        connection.room = room
        connection.send_frame(RoomEntered(room.name))
        connection.send_frame(History(history_payload(room.name, self._history.recent(room.name))))
        if connection.returning:
            connection.returning = False
            self._announce(room, wording.is_back(connection.pseudo), besides=connection)
        elif old_room is not None:
            self._announce(room, wording.arrived_from(connection.pseudo, old_room.name))
        else:
            self._announce(room, wording.joined(connection.pseudo))
        room.broadcast.catch_up(connection)  # its ENTERED, HISTORY and arrival leave in one write
        logger.info("%s entered room %s", connection.name, room.name)
        self._store.log(f"[{room.name}] {connection.pseudo} entered the room")

    def say(self, sender: Connection, room: Room[Connection], text: str) -> None:
        """Send a SAY to the others of the sender's room as one MESSAGE, encoded once."""
        self.say_all(sender, room, [text])

    def say_all(self, sender: Connection, room: Room[Connection], texts: list[str]) -> None:
        """Send SAYs received together to the others of the sender's room: a MESSAGE each, encoded once,
        all stamped with the same time; blank ones are dropped."""
        texts = [text for text in texts if text and not text.isspace()]
        if not texts:
            return
        assert sender.pseudo is not None and sender.said is not None and sender.user is not None
        time_ms = self._clock()
        frames = sender.said.encode_all(time_ms, texts)
        room.broadcast.send_all(frames, skip=sender)
        self._history.record_messages(room.name, time_ms, sender.pseudo, sender.user.color, texts)
        if self._tells_others:
            for frame, text in zip(frames, texts):
                entry = HistoryEntry.message(time_ms, sender.pseudo, sender.user.color, text)
                self._sharing.relayed(room.name, frame, entry)
        if logger.isEnabledFor(logging.INFO):
            for text in texts[: self.message_lines.take_some(len(texts))]:  # a count under a flood
                logger.info("message received from %s in %s: %s", sender.name, room.name, printable(text))
                if logger.isEnabledFor(logging.DEBUG):
                    for member in room.members:
                        if member is not sender:
                            logger.debug("message sent to %s", member.name)
        heading = f"[{room.name}] {wording.said(sender.pseudo, '')}"  # the wording puts the text last
        self._store.log_all([heading + text for text in texts])

    async def share_image(self, sender: Connection, data: bytes) -> None:
        """Check an image off the event loop, then relay it to the others of the room (or refuse it)."""
        room = sender.room
        if room is None or sender.pseudo is None:
            raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "IMAGE before ENTER_ROOM")
        try:
            facts = await self.images.run(check_image, data)
        except BadImage as reason:
            logger.info("image refused from %s: %s", sender.name, printable(str(reason)))
            sender.send_frame(Error(ErrorCode.BAD_IMAGE, str(reason)))
            return
        time_ms = self._clock()
        frame = encode(ImageFrom(time_ms, sender.pseudo, sender.color, data))
        room.broadcast.send(frame, skip=sender)
        entry = HistoryEntry.image_sent(time_ms, sender.pseudo, sender.color, facts)
        self._history.record(room.name, entry)
        self._sharing.relayed(room.name, frame, entry)
        logger.info(
            "image received from %s in %s: %s, %d bytes", sender.name, room.name, entry.text, facts.size
        )
        self._store.log(f"[{room.name}] {sender.pseudo} sent an image {entry.text}")

    def _announce(self, room: Room[Connection], text: str, besides: Connection | None = None) -> None:
        """Tell everyone in the room (but ``besides``) something, timestamped by the server."""
        announcement = Announcement(self._clock(), text)
        frame = encode(announcement)
        room.broadcast.send(frame, skip=besides)  # at the end of the turn, with the turn's other news:
        # a hundred clients leaving at once cost one delivery per member, not a hundred
        entry = HistoryEntry.announcement(announcement.time_ms, text)
        self._history.record(room.name, entry)
        self._sharing.relayed(room.name, frame, entry)

    def leave_room(
        self, connection: Connection, room: Room[Connection], announcement: str | None = None
    ) -> None:
        """Take the client out of its room and tell those who stay: ``announcement``, by default
        that the client left the chat."""
        assert connection.pseudo is not None
        self._rooms.leave(room, connection)
        connection.room = None
        self._announce(room, announcement or wording.left(connection.pseudo))
        if not room.members and not room.permanent:
            self._history.release(room.name)  # the room is gone
        self._store.log(f"[{room.name}] {connection.pseudo} left the room")

    def farewell(self, connection: Connection) -> None:
        """A client is going away: out of its room, and its user marked away (known still)."""
        if connection.room is not None:
            self.leave_room(connection, connection.room)
        if connection.user is not None:
            self._store.users.disconnect(connection.user)  # known still, but away: sent nothing until back
            minutes, seconds = divmod(int(time.monotonic() - connection.connected_at), 60)
            stayed = f"connected for {minutes} min {seconds:02d} s"
            self._store.log(f"{connection.pseudo} departed ({connection.address}), {stayed}")


def _report_held_back_lines(count: int) -> None:
    """Say on the console how many messages were relayed without a line each (a flood)."""
    logger.info(
        "%d more messages received, not shown one by one (the console shows %d a second at most)",
        count,
        DEFAULT_LINES_PER_SECOND,
    )
