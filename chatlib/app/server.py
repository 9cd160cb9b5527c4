"""The finished chat server: pseudos, rooms, colors, timestamps and logs over the binary protocol.

Run it with ``chat-server`` (or ``python -m chatlib.app.server``), or from Python::

    server = ChatServer()
    host, port = await server.start("127.0.0.1", 0)
    ...
    await server.stop("server shutting down")
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from types import TracebackType

from chatlib.app import wording
from chatlib.app.colors import pick_color
from chatlib.app.config import server_settings
from chatlib.app.logfiles import choose_log_dir, close_conversation_log, conversation_log
from chatlib.app.names import BadName, clean_name, name_key
from chatlib.app.protocol import (
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
    Hello,
    Message,
    Pong,
    ProtocolError,
    RoomEntered,
    RoomList,
    Say,
    SendImage,
    Welcome,
    encode,
)
from chatlib.app.rooms import Room, RoomRegistry
from chatlib.app.terminal_text import printable

logger = logging.getLogger(__name__)

READ_SIZE = 64 * 1024
DEFAULT_ROOMS = ("general",)
SHUTDOWN_REASON = "server shutting down"
SHUTDOWN_GRACE_SECONDS = 2.0


def now_ms() -> int:
    """The current time in milliseconds since the Unix epoch, as MESSAGE frames carry it."""
    return time.time_ns() // 1_000_000


@dataclass(eq=False)
class Connection:
    """One connected client: its writer, its outgoing frames, and what the server knows about it."""

    writer: asyncio.StreamWriter
    address: str
    pseudo: str | None = None
    user_id: str = ""
    color: str = ""
    room: Room[Connection] | None = None
    connected_at: float = field(default_factory=time.monotonic)
    leaving: bool = False
    outgoing: list[bytes] = field(default_factory=list)

    def send(self, data: bytes) -> None:
        """Queue already-encoded frames for this client, without waiting: the relay's hot path.

        A message is encoded once and queued for every recipient. Everything queued for a client
        during one turn of the event loop goes out in a single write (one system call instead of
        one per message). Bounded per-client queues will check their limit here.
        """
        if not self.outgoing:
            asyncio.get_running_loop().call_soon(self.flush)
        self.outgoing.append(data)

    def flush(self) -> None:
        """Hand everything queued to the socket's transport, which sends it in the background."""
        if self.outgoing and not self.writer.is_closing():
            self.writer.write(b"".join(self.outgoing))
        self.outgoing.clear()

    def close(self) -> None:
        """Send what is queued, then close the connection."""
        self.flush()
        self.writer.close()

    def send_frame(self, frame: Frame) -> None:
        """Encode and queue one frame for this client alone."""
        self.send(encode(frame))

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
    jeux" is never interleaved with another client's.
    """

    def __init__(
        self,
        conversation: logging.Logger | None = None,
        *,
        permanent_rooms: Iterable[str] = DEFAULT_ROOMS,
        clock: Callable[[], int] = now_ms,
        choose_color: Callable[[Sequence[str]], str] = random.choice,
    ) -> None:
        self._conversation = conversation or _silent_logger()
        self._clock = clock
        self._choose_color = choose_color
        self._rooms: RoomRegistry[Connection] = RoomRegistry(permanent_rooms)
        self._users: dict[str, Connection] = {}  # by name_key(pseudo): the connected users
        self._connections: set[Connection] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._stopped = asyncio.Event()
        self.address: tuple[str, int] | None = None

    # --- Life cycle ----------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen on ``host``:``port`` (0 picks a free port) and return the address really bound."""
        self._server = await asyncio.start_server(self._serve_client, host, port)
        bound_host, bound_port = self._server.sockets[0].getsockname()[:2]
        self.address = (bound_host, bound_port)
        return self.address

    async def serve_forever(self) -> None:
        """Wait until the server is stopped (by ``stop``, from another task or a signal handler)."""
        await self._stopped.wait()

    async def stop(self, reason: str = SHUTDOWN_REASON) -> None:
        """Stop listening, send CLOSING to every client, close them all and flush the log."""
        if self._server is None or self._stopped.is_set():
            return
        self._server.close()
        closing = encode(Closing(_truncate(reason, MAX_REASON_BYTES)))
        for connection in list(self._connections):
            connection.send(closing)
            connection.close()
        if self._handlers:
            _, stuck = await asyncio.wait(self._handlers, timeout=SHUTDOWN_GRACE_SECONDS)
            for connection in list(self._connections):
                connection.writer.transport.abort()  # a client that does not read holds us no longer
            if stuck:
                await asyncio.wait(stuck, timeout=SHUTDOWN_GRACE_SECONDS)
        await self._server.wait_closed()
        for handler in self._conversation.handlers:
            handler.flush()
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
        connection = Connection(writer, f"{peer[0]}:{peer[1]}")
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._connections.add(connection)
        logger.info("connection from %s", connection.address)
        try:
            await self._read_frames(reader, connection)
        except ProtocolError as error:
            logger.warning("protocol error from %s: %s", connection.name, printable(error.message))
            connection.send_frame(Error(error.code, _truncate(error.message, MAX_REASON_BYTES)))
        except ConnectionError as error:
            logger.info("connection lost with %s: %s", connection.name, error)
        except Exception:
            logger.exception("unexpected error while serving %s; dropping that client", connection.name)
        finally:
            self._depart(connection)
            connection.close()
            with suppress(OSError):
                await writer.wait_closed()
            self._handlers.discard(task)

    async def _read_frames(self, reader: asyncio.StreamReader, connection: Connection) -> None:
        """Read, decode and handle frames until the client leaves; a ProtocolError ends it too."""
        decoder = FrameDecoder("client")
        while not connection.leaving:
            data = await reader.read(READ_SIZE)
            if not data:
                return
            try:
                frames = decoder.feed(data)
            except ProtocolError as error:
                for frame in error.frames_before:
                    self._handle(connection, frame)
                raise
            for frame in frames:
                self._handle(connection, frame)
                if connection.leaving:
                    return

    def _handle(self, connection: Connection, frame: Frame) -> None:
        """Act on one frame from a client, in the order the protocol allows."""
        match frame:
            case Say(text):
                if connection.room is None:
                    raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "SAY before ENTER_ROOM")
                self._relay(connection, connection.room, text)
            case Hello(pseudo, _token):
                if connection.pseudo is not None:
                    raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "HELLO was already accepted")
                self._greet(connection, pseudo)
            case EnterRoom(room_name):
                if connection.pseudo is None:
                    raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, "ENTER_ROOM before HELLO")
                self._enter(connection, room_name)
            case SendImage():
                connection.send_frame(Error(ErrorCode.BAD_IMAGE, "this server does not take images yet"))
            case Pong():
                pass  # liveness checks come with the server's hardening
            case Bye():
                connection.leaving = True
            case _:
                raise ProtocolError(ErrorCode.UNEXPECTED_FRAME, f"not a client frame: {type(frame).__name__}")

    # --- What each frame does ------------------------------------------------------------------

    def _greet(self, connection: Connection, wanted_pseudo: str) -> None:
        """Accept a pseudo (WELCOME then ROOMS), or tell the client why not so it can try again."""
        try:
            pseudo = clean_name(wanted_pseudo, MAX_PSEUDO_LENGTH, "pseudo")
        except BadName as reason:
            connection.send_frame(Error(ErrorCode.BAD_PSEUDO, str(reason)))
            return
        if name_key(pseudo) in self._users:
            connection.send_frame(Error(ErrorCode.PSEUDO_TAKEN, f"the pseudo {pseudo} is already in use"))
            return
        connection.pseudo = pseudo
        connection.user_id = secrets.token_hex(8)
        connection.color = pick_color((user.color for user in self._users.values()), self._choose_color)
        self._users[name_key(pseudo)] = connection
        connection.send_frame(Welcome(connection.user_id, pseudo, connection.color))
        connection.send_frame(RoomList(self._rooms.listing()))
        logger.info("%s is %s", connection.address, pseudo)
        self._conversation.info("%s arrived (%s)", pseudo, connection.address)

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
        self._announce(room, wording.joined(connection.pseudo))
        logger.info("%s entered room %s", connection.name, room.name)
        self._conversation.info("[%s] %s entered the room", room.name, connection.pseudo)

    def _relay(self, sender: Connection, room: Room[Connection], text: str) -> None:
        """Send a SAY to the others of the sender's room as one MESSAGE, encoded once."""
        if not text.strip():
            return
        assert sender.pseudo is not None
        data = encode(Message(self._clock(), sender.pseudo, sender.color, text))
        for member in room.members:
            if member is not sender:
                member.send(data)
        safe_text = printable(text)
        logger.info("message received from %s in %s: %s", sender.name, room.name, safe_text)
        if logger.isEnabledFor(logging.DEBUG):
            for member in room.members:
                if member is not sender:
                    logger.debug("message sent to %s", member.name)
        self._conversation.info("[%s] %s", room.name, wording.said(sender.pseudo, text))

    def _announce(self, room: Room[Connection], text: str) -> None:
        """Tell everyone in the room something, timestamped by the server."""
        data = encode(Announcement(self._clock(), text))
        for member in room.members:
            member.send(data)

    def _leave_room(self, connection: Connection, room: Room[Connection]) -> None:
        """Take the client out of its room and tell those who stay."""
        assert connection.pseudo is not None
        self._rooms.leave(room, connection)
        connection.room = None
        self._announce(room, wording.left(connection.pseudo))
        self._conversation.info("[%s] %s left the room", room.name, connection.pseudo)

    def _depart(self, connection: Connection) -> None:
        """Forget a client that is going away, whatever the reason, and tell its room."""
        self._connections.discard(connection)
        if connection.room is not None:
            self._leave_room(connection, connection.room)
        if connection.pseudo is not None:
            self._users.pop(name_key(connection.pseudo), None)
            minutes, seconds = divmod(int(time.monotonic() - connection.connected_at), 60)
            self._conversation.info(
                "%s departed (%s), connected for %d min %02d s",
                connection.pseudo, connection.address, minutes, seconds,
            )
        logger.info("disconnection of %s", connection.name)


def _truncate(text: str, max_bytes: int) -> str:
    """``text`` cut so that its UTF-8 form fits in ``max_bytes`` (without splitting a character)."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def _silent_logger() -> logging.Logger:
    """A conversation logger that goes nowhere, for a server run without a log file."""
    silent = logging.getLogger("chatlib.app.conversation.none")
    silent.propagate = False
    if not silent.handlers:
        silent.addHandler(logging.NullHandler())
    return silent


# --- The chat-server command -------------------------------------------------------------------


async def run_server(host: str, port: int, conversation: logging.Logger) -> None:
    """Serve until SIGINT (Ctrl+C) or SIGTERM, then close every connection cleanly."""
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):  # Windows: Ctrl+C still arrives as KeyboardInterrupt
            loop.add_signal_handler(signal_number, stop_requested.set)
    server = ChatServer(conversation)
    bound_host, bound_port = await server.start(host, port)
    logger.info("chat server listening on %s:%d (Ctrl+C to stop)", bound_host, bound_port)
    try:
        await stop_requested.wait()
    finally:
        await server.stop(SHUTDOWN_REASON)


def main(argv: list[str] | None = None) -> int:
    """The ``chat-server`` command: read the settings, open the log file, serve until stopped."""
    settings = server_settings(argv)
    logging.basicConfig(
        level=logging.DEBUG if settings.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    log_dir = choose_log_dir(settings.log_dir)
    conversation = conversation_log("server", log_dir)
    logger.info("conversation log: %s", log_dir / "server.log")
    try:
        asyncio.run(run_server(settings.host, settings.port, conversation))
    except OSError as error:
        print(f"chat-server: cannot listen on {settings.host}:{settings.port}: {error.strerror or error}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        close_conversation_log(conversation)
    return 0


if __name__ == "__main__":
    sys.exit(main())
