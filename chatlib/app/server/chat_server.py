"""The finished chat server: one object that listens, serves each connection, and stops cleanly.

Run it with ``chat-server`` (or ``python -m chatlib.app.server``), or from Python::

    server = ChatServer(data_dir=Path("chat-data"))  # without data_dir, nothing is saved
    host, port = await server.start("127.0.0.1", 0)
    ...
    await server.stop("server shutting down")

``ChatServer`` puts the parts together: ``admission`` (who may connect), ``dispatch`` (a
client's frames), ``lobby`` (the pseudo handshake), ``relay`` (rooms and messages),
``liveness`` (silent clients) and ``persistence`` (users and history on disk).

A TCP client is served by a ``ClientProtocol`` (client_protocol.py), which asyncio calls when
its bytes arrive: no task per client. A browser's WebSocket comes as a reader and a writer
(``serve_connection``, streams.py) and is read in a loop; both reach the same methods.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from pathlib import Path
from types import TracebackType

from chatlib.app.protocol import MAX_REASON_BYTES, Closing, Error, ErrorCode, ProtocolError, encode
from chatlib.app.server.admission import Admission
from chatlib.app.server.client_protocol import ClientProtocol
from chatlib.app.server.connection import Connection, deliver
from chatlib.app.server.dispatch import READ_SIZE, FrameDispatcher, Waiting
from chatlib.app.server.history import DEFAULT_HISTORY_LENGTH, ChatHistory
from chatlib.app.server.limits import ServerLimits
from chatlib.app.server.liveness import watch_silences
from chatlib.app.server.lobby import Lobby
from chatlib.app.server.memory import MemoryBudget
from chatlib.app.server.outbox import Outbox
from chatlib.app.server.persistence import ServerStore
from chatlib.app.server.ratelimit import FloodGuard, Flooding
from chatlib.app.server.relay import RoomRelay
from chatlib.app.server.rooms import RoomRegistry
from chatlib.app.server.streams import ByteReader, ByteWriter
from chatlib.app.server.sharing import StandAlone
from chatlib.app.server.users import KnownUsers
from chatlib.app.shared.image_worker import ImageWorker
from chatlib.app.shared.logfiles import ConversationLog
from chatlib.app.shared.terminal_text import printable

logger = logging.getLogger(__name__)

DEFAULT_ROOMS = ("general",)
SHUTDOWN_REASON = "server shutting down"
DEFAULT_FLUSH_INTERVAL = 0.5  # seconds between two writes of the history and users files


def now_ms() -> int:
    """The current time in milliseconds since the Unix epoch, as MESSAGE frames carry it."""
    return time.time_ns() // 1_000_000


class ChatServer:
    """The chat room server: who is connected, which rooms exist, and the relaying between them.

    The stages kept their clients in a module-level ``CLIENTS`` dict. Here the state lives in an
    instance instead, so that a notebook, a terminal and each test can run their own server
    (several at once, on port 0), start and stop it cleanly, and find all of it in one place.

    With a ``data_dir``, the known users and every room's history are kept in two JSON Lines
    files there, loaded by ``start`` and appended to every ``flush_interval`` seconds and at
    ``stop``; without one they live as long as the server object.

    ``limits`` bound what any one client can cost the others: its unread output, its silence,
    its message rate, the number of connections; and what all of them together can cost: the
    bytes held for them, the users and rooms they make, the images they send (see limits.py and
    docs/ROBUSTNESS.md).
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
        sharing: StandAlone | None = None,
    ) -> None:
        self.limits = limits or ServerLimits()
        self.sharing = sharing or StandAlone()  # a cluster node's link to the others (cluster/)
        self.store = ServerStore(data_dir, history_length, flush_interval, conversation)
        permanent_rooms = tuple(permanent_rooms)
        self._rooms: RoomRegistry[Connection] = RoomRegistry(deliver, permanent_rooms)
        for name in permanent_rooms:
            self.store.history.keep(name)
        self._admission = Admission(self.limits)
        self._budget = MemoryBudget(self.limits.max_buffered_bytes)
        self._images = ImageWorker(self.limits.image_timeout, self.limits.max_images_waiting)
        self._relay = RoomRelay(
            self.store, self._rooms, clock, self.sharing, self._images, self.limits.max_rooms
        )
        lobby = Lobby(self.store, self._rooms, clock, choose_color, self.sharing, self.limits)
        self._dispatcher = FrameDispatcher(lobby, self._relay, self._budget)
        self._watcher: asyncio.Task[None] | None = None
        self._waits: set[asyncio.Task[None]] = set()  # frames that wait (dispatch.py), their client paused
        self._open = 0  # connections not closed yet, departed or not
        self._all_closed: asyncio.Event | None = None  # set when the last one closes, once stopping
        self._server: asyncio.Server | None = None
        self._stopped = asyncio.Event()
        self.address: tuple[str, int] | None = None

    @property
    def data_dir(self) -> Path | None:
        """Where the known users and the history are saved (None: nowhere)."""
        return self.store.data_dir

    @property
    def users(self) -> KnownUsers:
        """Everyone the server knows, connected or away."""
        return self.store.users

    @property
    def connection_count(self) -> int:
        """How many connections are being served right now."""
        return len(self._admission.connections)

    @property
    def history(self) -> ChatHistory:
        """Every room's recent entries."""
        return self.store.history

    @property
    def buffered_bytes(self) -> int:
        """Bytes held for the clients right now: frames half received, output not yet read."""
        return self._budget.used

    @property
    def images_waiting(self) -> int:
        """Images being checked, or waiting for the image worker."""
        return self._images.waiting

    # --- Life cycle ----------------------------------------------------------------------------

    async def start(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> tuple[str, int]:
        """Load the saved data, listen on ``host``:``port`` (0: any free port), return the address bound.

        With ``tls`` (see tls.py) every connection speaks TLS; a handshake has ``hello_timeout`` to finish.
        """
        await self.store.load()
        await self.sharing.start(self._rooms, self.store)
        handshake_timeout = self.limits.hello_timeout if tls else None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: ClientProtocol(self), host, port, ssl=tls, ssl_handshake_timeout=handshake_timeout
        )
        self._watcher = asyncio.create_task(
            watch_silences(self._admission.connections, self.limits, self._drop), name="watch silent clients"
        )
        self.store.start_saving()
        bound_host, bound_port = self._server.sockets[0].getsockname()[:2]
        self.address = (bound_host, bound_port)
        return self.address

    async def save(self) -> None:
        """Write the queued history entries, new users and conversation log lines to their files now."""
        await self.store.save()

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
        self._images.close()  # an image being checked is refused at once: nobody waits for it
        grace = self.limits.shutdown_grace
        closing = encode(Closing(_truncate(reason, MAX_REASON_BYTES)))
        self._rooms.deliver_pending()
        connections = list(self._admission.connections)
        for connection in connections:
            connection.leaving = True  # nothing it sends from now on is acted on
            connection.outbox.close(closing, grace)  # what is queued, then CLOSING; aborted after grace
        if self._open:
            self._all_closed = asyncio.Event()
            if not await _wait_for(self._all_closed, grace + 0.5):
                for connection in connections:
                    connection.outbox.abort()  # a client that does not read holds us no longer
                await _wait_for(self._all_closed, grace)
        if self._waits:
            _, stuck = await asyncio.wait(self._waits, timeout=grace)
            for task in stuck:
                task.cancel()
        await self._server.wait_closed()
        await self.store.stop_saving()
        await self.sharing.stop()
        self._relay.message_lines.close_window()
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

    def admit(self, writer: ByteWriter, on_overflow: Callable[[str], None]) -> Connection | None:
        """A new connection, counted in with its outbox and its rate limit; None if turned away.

        ``on_overflow(reason)`` is called when the client does not read what it is sent (outbox.py).
        """
        peer = writer.get_extra_info("peername") or ("?", 0)  # None if the client is already gone
        refusal = self._admission.refusal(str(peer[0]))
        if refusal is not None:
            self._admission.turn_away(writer, f"{peer[0]}:{peer[1]}", refusal)
            return None
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        limits = self.limits
        outbox = Outbox(writer, limits.max_queued_bytes, limits.max_queued_frames, on_overflow, self._budget)
        guard = None if limits.rate_limit is None else FloodGuard(limits.rate_limit)
        connection = Connection(outbox, peer, guard)
        self._admission.admit(connection)
        self._open += 1
        logger.info("connection from %s", connection.address)
        return connection

    def received(self, connection: Connection, data: bytes, client: ClientProtocol) -> None:
        """Act on what a TCP client sent; while a frame waits (dispatch.py), its reading is paused."""
        try:
            waiting = self._dispatcher.received(connection, data)
        except Exception as error:
            self._fail(connection, error)
            return
        if waiting is None:
            if connection.leaving:
                self.end(connection)
            return
        client.transport.pause_reading()
        task = asyncio.get_running_loop().create_task(self._wait_then_read(connection, waiting, client))
        self._waits.add(task)
        task.add_done_callback(self._waits.discard)

    async def _wait_then_read(self, connection: Connection, waiting: Waiting, client: ClientProtocol) -> None:
        """Finish acting on a TCP client's frames, then read it again."""
        try:
            await waiting
        except Exception as error:
            self._fail(connection, error)
        if connection.leaving:
            self.end(connection)
        if not client.transport.is_closing():
            client.transport.resume_reading()  # once it is ending, what it still sends is read and dropped

    async def serve_connection(self, reader: ByteReader, writer: ByteWriter) -> None:
        """Serve a connection that came another way than the TCP listener (a browser's WebSocket, web/).

        It is served as a TCP connection is, under the same limits, reading in a loop; once the
        server is stopping, it is told so and closed.
        """
        if self._server is None or not self._server.is_serving():
            writer.write(encode(Closing(SHUTDOWN_REASON)))
            writer.close()
            return

        def overflow(reason: str) -> None:
            self.too_slow(connection, reason)

        connection = self.admit(writer, overflow)
        if connection is None:
            return
        try:
            while not connection.leaving:
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                waiting = self._dispatcher.received(connection, data)
                if waiting is not None:
                    await waiting
        except Exception as error:
            self._fail(connection, error)
        finally:
            self.end(connection)
            with suppress(OSError, TimeoutError):
                async with asyncio.timeout(self.limits.close_grace + 1.0):  # outbox.close aborts by then
                    while await reader.read(READ_SIZE):
                        pass  # what the client still sends is dropped, until it has read our last frames
                    writer.close()
                    await writer.wait_closed()
            self._count_closed()

    def _fail(self, connection: Connection, error: Exception) -> None:
        """End a connection on an error: the client is told why when it broke a rule."""
        if isinstance(error, ProtocolError):
            logger.warning("protocol error from %s: %s", connection.name, printable(error.message))
            connection.send_frame(Error(error.code, _truncate(error.message, MAX_REASON_BYTES)))
        elif isinstance(error, Flooding):
            logger.warning("%s dropped for flooding: %s", connection.name, error)
            connection.send_frame(Error(ErrorCode.RATE_LIMITED, f"too many messages: {error}"))
        elif isinstance(error, ConnectionError):
            logger.info("connection lost with %s: %s", connection.name, error)
        else:
            logger.error("unexpected error while serving %s; dropping it", connection.name, exc_info=error)
        self.end(connection)

    def end(self, connection: Connection) -> None:
        """The client is gone, or must go: forget it, send what is queued for it, then close.

        Where it can, the connection is only half-closed: the client reads our last frames, and
        what it still sends is read and dropped until it closes too (outbox.py).
        """
        connection.leaving = True
        self._depart(connection)
        connection.outbox.close(grace=self.limits.close_grace)

    def closed(self, connection: Connection, error: Exception | None) -> None:
        """A TCP client's connection is closed, whoever closed it."""
        if not connection.departed:
            logger.info("connection lost with %s: %s", connection.name, error or "closed")
        connection.leaving = True
        self._depart(connection)
        connection.outbox.abort()
        self._count_closed()

    def _count_closed(self) -> None:
        """One connection fewer; the last one to close lets ``stop`` finish."""
        self._open -= 1
        if self._open == 0 and self._all_closed is not None:
            self._all_closed.set()

    def too_slow(self, connection: Connection, reason: str) -> None:
        """A client's outbox overflowed: it does not read what it is sent."""
        self._drop(connection, ErrorCode.TOO_SLOW, f"you do not read fast enough: {reason}")

    def _drop(self, connection: Connection, code: ErrorCode, reason: str) -> None:
        """Disconnect a client that broke a limit (it may still read the ERROR); the others carry on."""
        if connection.departed:
            return
        logger.warning("dropping %s: %s", connection.name, reason)
        connection.leaving = True
        self._depart(connection)
        connection.outbox.close(encode(Error(code, reason)), self.limits.close_grace)

    def _depart(self, connection: Connection) -> None:
        """Forget a client that is going away, whatever the reason, and tell its room (once)."""
        if connection.departed:
            return
        connection.departed = True
        self._dispatcher.forget(connection)
        self._admission.release(connection)
        self._relay.farewell(connection)
        logger.info("disconnection of %s", connection.name)


async def _wait_for(event: asyncio.Event, seconds: float) -> bool:
    """Whether ``event`` is set within ``seconds``."""
    with suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()


def _truncate(text: str, max_bytes: int) -> str:
    """``text`` cut so that its UTF-8 form fits in ``max_bytes`` (without splitting a character)."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
