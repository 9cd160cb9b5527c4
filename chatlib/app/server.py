"""The finished chat server: pseudos, rooms, colors, timestamps, logs, known users, history, images.

Run it with ``chat-server`` (or ``python -m chatlib.app.server``), or from Python::

    server = ChatServer(data_dir=Path("chat-data"))  # without data_dir, nothing is saved
    host, port = await server.start("127.0.0.1", 0)
    ...
    await server.stop("server shutting down")
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from chatlib.app import wording
from chatlib.app.colors import pick_color
from chatlib.app.config import server_settings
from chatlib.app.console_budget import DEFAULT_LINES_PER_SECOND, LineBudget
from chatlib.app.history import DEFAULT_HISTORY_LENGTH, ChatHistory, HistoryEntry, history_payload
from chatlib.app.images import BadImage, check_image
from chatlib.app.limits import IMAGE_COST, ServerLimits
from chatlib.app.logfiles import ConversationLog, choose_log_dir, close_conversation_log, conversation_log
from chatlib.app.names import BadName, clean_name, name_key
from chatlib.app.outbox import Outbox
from chatlib.app.protocol import (
    MAX_PAYLOAD,
    MAX_PSEUDO_LENGTH,
    MAX_REASON_BYTES,
    MAX_ROOM_LENGTH,
    Announcement,
    Bye,
    Closing,
    EnterRoom,
    Error,
    ErrorCode,
    Frame,
    FrameDecoder,
    FrameType,
    Hello,
    History,
    ImageFrom,
    MessageEncoder,
    Ping,
    Pong,
    ProtocolError,
    RoomEntered,
    RoomList,
    Say,
    SendImage,
    Welcome,
    encode,
)
from chatlib.app.ratelimit import FloodGuard, Flooding
from chatlib.app.rooms import Room, RoomRegistry
from chatlib.app.storage import JsonLinesFile, default_data_dir, prepare_data_dir, read_json_lines
from chatlib.app.terminal_text import printable
from chatlib.app.users import KnownUser, KnownUsers, Verdict

logger = logging.getLogger(__name__)

READ_SIZE = 64 * 1024
# Until its HELLO is accepted a client may not start a large frame (an IMAGE of 2 MiB): strangers
# cannot make the server buffer more than this each.
MAX_PENDING_BEFORE_HELLO = 6 + MAX_PAYLOAD[FrameType.HELLO]
DEFAULT_ROOMS = ("general",)
SHUTDOWN_REASON = "server shutting down"
DEFAULT_FLUSH_INTERVAL = 0.5  # seconds between two writes of the history and users files
HISTORY_FILE = "history.jsonl"
USERS_FILE = "users.jsonl"


def now_ms() -> int:
    """The current time in milliseconds since the Unix epoch, as MESSAGE frames carry it."""
    return time.time_ns() // 1_000_000


@dataclass(eq=False)
class Connection:
    """One connected client: its outgoing frames, how lively it is, and what the server knows about it.

    ``outbox.send`` queues encoded frames without waiting (see outbox.py); what a room says
    reaches it through the room's broadcast (see broadcast.py), once per loop turn.
    """

    outbox: Outbox
    ip: str
    address: str
    pseudo: str | None = None
    user_id: str = ""
    color: str = ""
    room: Room[Connection] | None = None
    user: KnownUser | None = None
    said: MessageEncoder | None = None  # encodes what this client says, once it has a pseudo
    returning: bool = False  # a known user back: their next room hears "est de retour"
    connected_at: float = field(default_factory=time.monotonic)
    last_heard: float = field(default_factory=time.monotonic)  # when it last sent anything
    pinged_at: float | None = None  # when the server sent a PING still unanswered
    flood_guard: FloodGuard | None = None
    leaving: bool = False
    departed: bool = False

    def send_frame(self, frame: Frame) -> None:
        """Encode and queue one frame for this client alone, after what its room sent it before."""
        if self.room is not None and self.room.broadcast.pending:
            self.room.broadcast.deliver()
        self.outbox.send(encode(frame))

    @property
    def name(self) -> str:
        """How the console logs name this client: its pseudo once known, else its address."""
        return f"{self.pseudo} ({self.address})" if self.pseudo else self.address


class ChatServer:
    """The chat room server: who is connected, which rooms exist, and the relaying between them.

    The stages kept their clients in a module-level ``CLIENTS`` dict. Here the state lives in an
    instance instead, so that a notebook, a terminal and each test can run their own server
    (several at once, on port 0), start and stop it cleanly, and find all of it in one place.
    Frames are handled synchronously, between two reads: a state change such as "bob enters
    jeux" is never interleaved with another client's. The one exception is an image, checked
    in a worker thread while that client's next frames wait (the other clients carry on).

    With a ``data_dir``, the known users and every room's history are kept in two JSON Lines
    files there, loaded by ``start`` and appended to every ``flush_interval`` seconds and at
    ``stop``; without one they live as long as the server object.

    ``limits`` bound what any one client can cost the others: its unread output, its silence,
    its message rate, the number of connections (see limits.py and docs/ROBUSTNESS.md).
    """

    def __init__(
        self,
        conversation: ConversationLog | None = None,
        *,
        data_dir: Path | None = None,
        history_length: int = DEFAULT_HISTORY_LENGTH,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        permanent_rooms: Iterable[str] = DEFAULT_ROOMS,
        clock: Callable[[], int] = now_ms,
        choose_color: Callable[[Sequence[str]], str] = random.choice,
        limits: ServerLimits | None = None,
    ) -> None:
        self.limits = limits or ServerLimits()
        self._conversation = conversation
        self._clock = clock
        self._choose_color = choose_color
        self._rooms: RoomRegistry[Connection] = RoomRegistry(_deliver, permanent_rooms)
        self.data_dir = data_dir
        self.users = KnownUsers()
        self.history = ChatHistory(history_length)
        self._users_file: JsonLinesFile | None = None
        self._flush_interval = flush_interval
        self._saver: asyncio.Task[None] | None = None
        self._stop_saving = asyncio.Event()
        self._connections: set[Connection] = set()
        self._per_ip: dict[str, int] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._stopped = asyncio.Event()
        self._message_lines = LineBudget(_report_held_back_lines)  # the console's line per message
        self.address: tuple[str, int] | None = None

    # --- Life cycle ----------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Load the saved data, listen on ``host``:``port`` (0: any free port), return the address bound."""
        if self.data_dir is not None:
            await self._load(self.data_dir)
        self._server = await asyncio.start_server(self._serve_client, host, port)
        self._watcher = asyncio.create_task(self._watch_silences(), name="watch silent clients")
        if self.data_dir is not None:
            self._saver = asyncio.create_task(self._keep_saving(), name="save history and users")
        bound_host, bound_port = self._server.sockets[0].getsockname()[:2]
        self.address = (bound_host, bound_port)
        return self.address

    async def _load(self, data_dir: Path) -> None:
        """Read the known users and the history back, and open their files for what comes next."""
        prepare_data_dir(data_dir)
        users_path, history_path = data_dir / USERS_FILE, data_dir / HISTORY_FILE
        user_records = await asyncio.to_thread(lambda: list(read_json_lines(users_path)))
        history_records = await asyncio.to_thread(lambda: list(read_json_lines(history_path)))
        self.users = KnownUsers.from_records(user_records)
        entries = self.history.load(history_records)
        logger.info(
            "%d known users and %d history entries loaded from %s", len(self.users), entries, data_dir
        )
        self._users_file = JsonLinesFile(users_path)
        self.history.file = JsonLinesFile(history_path)

    async def _keep_saving(self) -> None:
        """Write what was queued every ``flush_interval`` seconds, and once more when told to stop."""
        while not self._stop_saving.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop_saving.wait(), self._flush_interval)
            await self.save()

    async def save(self) -> None:
        """Write the queued history entries, new users and conversation log lines to their files now."""
        if self._conversation is not None:
            self._conversation.flush()
        for file in (self._users_file, self.history.file):
            if file is not None:
                await file.flush()

    async def serve_forever(self) -> None:
        """Wait until the server is stopped (by ``stop``, from another task or a signal handler)."""
        await self._stopped.wait()

    async def stop(self, reason: str = SHUTDOWN_REASON) -> None:
        """Stop listening, send CLOSING to every client, close them all, save the data, flush the log."""
        if self._server is None or self._stopped.is_set():
            return
        self._server.close()
        if self._watcher is not None:
            self._watcher.cancel()
        grace = self.limits.shutdown_grace
        closing = encode(Closing(_truncate(reason, MAX_REASON_BYTES)))
        self._rooms.deliver_pending()
        for connection in list(self._connections):
            connection.outbox.close(closing, grace)  # what is queued, then CLOSING; aborted after grace
        if self._handlers:
            _, stuck = await asyncio.wait(self._handlers, timeout=grace + 0.5)
            for connection in list(self._connections):
                connection.outbox.abort()  # a client that does not read holds us no longer
            if stuck:
                await asyncio.wait(stuck, timeout=grace)
        await self._server.wait_closed()
        if self._saver is not None:
            self._stop_saving.set()
            await self._saver  # its last round saves the departures too
        if self._conversation is not None:
            self._conversation.flush()
        self._message_lines.close_window()
        self._stopped.set()
        logger.info("server stopped: %s", reason)

    async def __aenter__(self) -> ChatServer:
        """``async with ChatServer() as server:`` stops the server when the block ends."""
        return self

    async def __aexit__(
        self, error_type: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Stop the server at the end of an ``async with`` block, whatever happened in it."""
        await self.stop()

    # --- One connection ------------------------------------------------------------------------

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client from its connection to its departure, whatever the reason."""
        peer = writer.get_extra_info("peername") or ("?", 0)  # None if the client is already gone
        ip, address = str(peer[0]), f"{peer[0]}:{peer[1]}"
        limits = self.limits
        if len(self._connections) >= limits.max_connections:
            self._turn_away(writer, address, f"the server is full ({limits.max_connections} connections)")
            return
        if self._per_ip.get(ip, 0) >= limits.max_connections_per_ip:
            reason = f"too many connections from {ip} (at most {limits.max_connections_per_ip})"
            self._turn_away(writer, address, reason)
            return
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def overflow(reason: str) -> None:
            self._drop(connection, ErrorCode.TOO_SLOW, f"you do not read fast enough: {reason}")

        outbox = Outbox(writer, limits.max_queued_bytes, limits.max_queued_frames, overflow)
        connection = Connection(outbox, ip, address)
        if limits.rate_limit is not None:
            connection.flood_guard = FloodGuard(limits.rate_limit)
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._connections.add(connection)
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
        logger.info("connection from %s", address)
        try:
            await self._read_frames(reader, connection)
        except ProtocolError as error:
            logger.warning("protocol error from %s: %s", connection.name, printable(error.message))
            connection.send_frame(Error(error.code, _truncate(error.message, MAX_REASON_BYTES)))
        except Flooding as flooding:
            logger.warning("%s dropped for flooding: %s", connection.name, flooding)
            connection.send_frame(Error(ErrorCode.RATE_LIMITED, f"too many messages: {flooding}"))
        except ConnectionError as error:
            logger.info("connection lost with %s: %s", connection.name, error)
        except Exception:
            logger.exception("unexpected error while serving %s; dropping that client", connection.name)
        finally:
            self._depart(connection)
            outbox.close(grace=limits.close_grace)
            with suppress(OSError, TimeoutError):
                async with asyncio.timeout(limits.close_grace + 1.0):  # outbox.close aborts by then
                    await writer.wait_closed()
            self._handlers.discard(task)

    def _turn_away(self, writer: asyncio.StreamWriter, address: str, reason: str) -> None:
        """Refuse a connection over the limits: ERROR SERVER_FULL, then close (abort if unread)."""
        logger.warning("connection from %s refused: %s", address, reason)
        writer.write(encode(Error(ErrorCode.SERVER_FULL, reason)))
        writer.close()
        asyncio.get_running_loop().call_later(self.limits.close_grace, writer.transport.abort)

    def _drop(self, connection: Connection, code: ErrorCode, reason: str) -> None:
        """Disconnect a client that broke a limit (it may still read the ERROR); the others carry on."""
        if connection.departed:
            return
        logger.warning("dropping %s: %s", connection.name, reason)
        connection.leaving = True
        self._depart(connection)
        connection.outbox.close(encode(Error(code, reason)), self.limits.close_grace)

    async def _watch_silences(self) -> None:
        """One task for all connections: close unfinished hellos, PING the silent, drop the unanswered."""
        limits = self.limits
        ping = encode(Ping())
        while True:
            await asyncio.sleep(limits.watch_interval())
            now = time.monotonic()
            for connection in list(self._connections):
                if connection.pseudo is None:
                    if now - connection.connected_at > limits.hello_timeout:
                        self._drop(
                            connection,
                            ErrorCode.TIMEOUT,
                            f"no HELLO accepted within {limits.hello_timeout:g} s",
                        )
                elif connection.pinged_at is not None:
                    if now - connection.pinged_at > limits.pong_timeout:
                        self._drop(
                            connection,
                            ErrorCode.TIMEOUT,
                            f"no answer to PING within {limits.pong_timeout:g} s",
                        )
                elif now - connection.last_heard > limits.idle_timeout:
                    connection.pinged_at = now
                    connection.outbox.send(ping)

    async def _read_frames(self, reader: asyncio.StreamReader, connection: Connection) -> None:
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
                await self._share_image(connection, frame.data)
            else:
                self._handle(connection, frame)

    def _handle(self, connection: Connection, frame: Frame) -> None:
        """Act on one frame from a client, in the order the protocol allows."""
        match frame:
            case Say(text):
                if connection.room is None:
                    raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "SAY before ENTER_ROOM")
                self._relay(connection, connection.room, text)
            case Hello(pseudo, token):
                if connection.pseudo is not None:
                    raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "HELLO was already accepted")
                self._greet(connection, pseudo, token)
            case EnterRoom(room_name):
                if connection.pseudo is None:
                    raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "ENTER_ROOM before HELLO")
                self._enter(connection, room_name)
            case Pong():
                pass  # reading it already marked the client alive (see _read_frames)
            case Bye():
                connection.leaving = True
            case _:
                raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, f"not a client frame: {type(frame).__name__}")

    def _log(self, event: str) -> None:
        """Write one event of the conversation to the conversation log, if the server keeps one."""
        if self._conversation is not None:
            self._conversation.write(event)

    # --- What each frame does ------------------------------------------------------------------

    def _greet(self, connection: Connection, wanted_pseudo: str, token: str) -> None:
        """Accept a pseudo (WELCOME then ROOMS), or tell the client why not so it can try again.

        A new pseudo makes a new known user, whose token goes out once, in the WELCOME. A known
        pseudo needs its owner's token: then it is that user coming back, from wherever.
        """
        try:
            pseudo = clean_name(wanted_pseudo, MAX_PSEUDO_LENGTH, "pseudo")
        except BadName as reason:
            connection.send_frame(Error(ErrorCode.BAD_PSEUDO, str(reason)))
            return
        verdict, user = self.users.judge(pseudo, token)
        match verdict:
            case Verdict.IN_USE:
                connection.send_frame(Error(ErrorCode.PSEUDO_TAKEN, f"the pseudo {pseudo} is already in use"))
                return
            case Verdict.TOKEN_MISSING:
                connection.send_frame(
                    Error(ErrorCode.PSEUDO_TAKEN, f"the pseudo {pseudo} belongs to another user")
                )
                return
            case Verdict.TOKEN_WRONG:
                connection.send_frame(Error(ErrorCode.BAD_TOKEN, f"wrong token for the pseudo {pseudo}"))
                return
            case Verdict.NEW:
                color = pick_color(self.users.connected_colors(), self._choose_color)
                user, token = self.users.register(pseudo, color, self._clock())
                if self._users_file is not None:
                    self._users_file.append(user.to_record())
            case Verdict.RETURNING:
                connection.returning = True
        assert user is not None
        user.connected = True
        connection.user = user
        connection.pseudo, connection.user_id, connection.color = user.pseudo, user.user_id, user.color
        connection.said = MessageEncoder(user.pseudo, user.color)
        connection.send_frame(Welcome(user.user_id, user.pseudo, user.color, token, connection.returning))
        connection.send_frame(RoomList(self._rooms.listing()))
        logger.info(
            "%s is %s%s", connection.address, user.pseudo, " (returning)" if connection.returning else ""
        )
        verb = "came back" if connection.returning else "arrived"
        self._log(f"{user.pseudo} {verb} ({connection.address})")

    def _enter(self, connection: Connection, wanted_room: str) -> None:
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
            self._leave_room(connection, old_room)
        room = self._rooms.enter(room_name, connection)
        connection.room = room
        connection.send_frame(RoomEntered(room.name))
        connection.send_frame(History(history_payload(room.name, self.history.recent(room.name))))
        if connection.returning:
            connection.returning = False
            self._announce(room, wording.is_back(connection.pseudo), besides=connection)
        else:
            self._announce(room, wording.joined(connection.pseudo))
        logger.info("%s entered room %s", connection.name, room.name)
        self._log(f"[{room.name}] {connection.pseudo} entered the room")

    def _relay(self, sender: Connection, room: Room[Connection], text: str) -> None:
        """Send a SAY to the others of the sender's room as one MESSAGE, encoded once."""
        if not text.strip():
            return
        assert sender.pseudo is not None and sender.said is not None
        time_ms = self._clock()
        room.broadcast.send(sender.said.encode(time_ms, text), skip=sender)
        self.history.record(room.name, HistoryEntry.message(time_ms, sender.pseudo, sender.color, text))
        if logger.isEnabledFor(logging.INFO) and self._message_lines.take():  # a count under a flood
            logger.info("message received from %s in %s: %s", sender.name, room.name, printable(text))
            if logger.isEnabledFor(logging.DEBUG):
                for member in room.members:
                    if member is not sender:
                        logger.debug("message sent to %s", member.name)
        self._log(f"[{room.name}] {wording.said(sender.pseudo, text)}")

    async def _share_image(self, sender: Connection, data: bytes) -> None:
        """Check an image off the event loop, then relay it to the others of the room (or refuse it)."""
        room = sender.room
        if room is None or sender.pseudo is None:
            raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "IMAGE before ENTER_ROOM")
        try:
            facts = await asyncio.to_thread(check_image, data)
        except BadImage as reason:
            logger.info("image refused from %s: %s", sender.name, printable(str(reason)))
            sender.send_frame(Error(ErrorCode.BAD_IMAGE, str(reason)))
            return
        time_ms = self._clock()
        room.broadcast.send(encode(ImageFrom(time_ms, sender.pseudo, sender.color, data)), skip=sender)
        entry = HistoryEntry.image_sent(time_ms, sender.pseudo, sender.color, facts)
        self.history.record(room.name, entry)
        logger.info(
            "image received from %s in %s: %s, %d bytes", sender.name, room.name, entry.text, facts.size
        )
        self._log(f"[{room.name}] {sender.pseudo} sent an image {entry.text}")

    def _announce(self, room: Room[Connection], text: str, besides: Connection | None = None) -> None:
        """Tell everyone in the room (but ``besides``) something, timestamped by the server."""
        announcement = Announcement(self._clock(), text)
        room.broadcast.send(encode(announcement), skip=besides)
        room.broadcast.deliver()  # now, rare as it is: with the ENTERED or ERROR that goes with it
        self.history.record(room.name, HistoryEntry.announcement(announcement.time_ms, text))

    def _leave_room(self, connection: Connection, room: Room[Connection]) -> None:
        """Take the client out of its room and tell those who stay."""
        assert connection.pseudo is not None
        self._rooms.leave(room, connection)
        connection.room = None
        self._announce(room, wording.left(connection.pseudo))
        self._log(f"[{room.name}] {connection.pseudo} left the room")

    def _depart(self, connection: Connection) -> None:
        """Forget a client that is going away, whatever the reason, and tell its room (once)."""
        if connection.departed:
            return
        connection.departed = True
        self._connections.discard(connection)
        remaining = self._per_ip.pop(connection.ip, 1) - 1
        if remaining:
            self._per_ip[connection.ip] = remaining
        if connection.room is not None:
            self._leave_room(connection, connection.room)
        if connection.user is not None:
            connection.user.connected = False  # known still, but away: sent nothing until back
            minutes, seconds = divmod(int(time.monotonic() - connection.connected_at), 60)
            stayed = f"connected for {minutes} min {seconds:02d} s"
            self._log(f"{connection.pseudo} departed ({connection.address}), {stayed}")
        logger.info("disconnection of %s", connection.name)


def _truncate(text: str, max_bytes: int) -> str:
    """``text`` cut so that its UTF-8 form fits in ``max_bytes`` (without splitting a character)."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def _report_held_back_lines(count: int) -> None:
    """Say on the console how many messages were relayed without a line each (a flood)."""
    logger.info(
        "%d more messages received, not shown one by one (the console shows %d a second at most)",
        count,
        DEFAULT_LINES_PER_SECOND,
    )


def _deliver(connection: Connection, data: bytes, frames: int) -> None:
    """How a room's broadcast reaches one member, at the end of a loop turn: written out at once."""
    connection.outbox.send(data, frames)
    connection.outbox.flush()


# --- The chat-server command -------------------------------------------------------------------


def allow_open_files(wanted: int) -> None:
    """Raise this process's open-file limit towards ``wanted`` (one per connection), if the system lets us."""
    try:
        import resource
    except ImportError:  # Windows has no such limit to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def run_server(
    host: str,
    port: int,
    conversation: ConversationLog,
    data_dir: Path | None = None,
    history_length: int = DEFAULT_HISTORY_LENGTH,
    limits: ServerLimits | None = None,
) -> None:
    """Serve until SIGINT (Ctrl+C) or SIGTERM, then close every connection cleanly and save."""
    limits = limits or ServerLimits()
    allow_open_files(limits.max_connections + 64)
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):  # Windows: Ctrl+C still arrives as KeyboardInterrupt
            loop.add_signal_handler(signal_number, stop_requested.set)
    server = ChatServer(conversation, data_dir=data_dir, history_length=history_length, limits=limits)
    bound_host, bound_port = await server.start(host, port)
    loop_name = "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
    logger.info(
        "chat server listening on %s:%d, %s event loop (Ctrl+C to stop)", bound_host, bound_port, loop_name
    )
    try:
        await stop_requested.wait()
    finally:
        await server.stop(SHUTDOWN_REASON)


def event_loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What makes the server's event loop: asyncio's own (None), or uvloop's (``--loop uvloop``)."""
    if name == "uvloop":
        import uvloop  # only when asked for: it is an optional dependency, and not on Windows

        return uvloop.new_event_loop
    return None


def main(argv: list[str] | None = None) -> int:
    """The ``chat-server`` command: read the settings, open the log file, serve until stopped."""
    settings = server_settings(argv)
    logging.basicConfig(
        level=logging.DEBUG if settings.verbose else logging.WARNING if settings.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    data_dir = settings.data_dir or default_data_dir()
    try:
        prepare_data_dir(data_dir)
    except OSError as error:
        print(
            f"chat-server: cannot use the data folder {data_dir}: {error.strerror or error}", file=sys.stderr
        )
        return 1
    log_dir = choose_log_dir(settings.log_dir)
    conversation = conversation_log("server", log_dir)
    logger.info("conversation log: %s", log_dir / "server.log")
    logger.info("history and known users: %s", data_dir)
    try:
        with asyncio.Runner(loop_factory=event_loop_factory(settings.loop)) as runner:
            runner.run(
                run_server(
                    settings.host,
                    settings.port,
                    conversation,
                    data_dir,
                    settings.history_length,
                    settings.limits,
                )
            )
    except OSError as error:
        print(
            f"chat-server: cannot listen on {settings.host}:{settings.port}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        close_conversation_log(conversation)
    return 0


if __name__ == "__main__":
    sys.exit(main())
