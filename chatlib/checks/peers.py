"""The checks' side of a conversation over real loopback TCP: raw clients and a scripted server.

Everything received is kept byte for byte, so a failure can show exactly what arrived.
Waiting is done on received data, each wait with a timeout.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from chatlib.checks.report import Mismatch, show_bytes
from chatlib.checks.screen import TerminalScreen

HOST = "127.0.0.1"
WAIT_SECONDS = 3.0
"""How long a check waits for something to arrive before it says nothing did (tests lower it)."""
READ_SIZE = 65536
MAX_SHOWN_LINES = 2000
"""A program showing more lines than this in one scenario is looping: the rest are only counted."""

Show = Callable[[str], None]


class ReceivedBytes:
    """Bytes read from one connection, kept in full, with a way to wait for more."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False
        self._changed = asyncio.Event()

    def add(self, chunk: bytes) -> None:
        """Keep a chunk that arrived (empty: the peer closed the connection)."""
        if chunk:
            self.data += chunk
        else:
            self.closed = True
        self._changed.set()

    async def wait_until(self, condition: Callable[[bytes], bool], timeout: float) -> bool:
        """Wait until `condition(data)` holds or the connection is closed; False after `timeout` s."""
        try:
            async with asyncio.timeout(timeout):
                while not condition(bytes(self.data)):
                    if self.closed:
                        return False
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            return False
        return True

    def since(self, mark: int) -> bytes:
        """What arrived after `mark` (a length of `data` taken earlier)."""
        return bytes(self.data[mark:])


def describe_arrival(received: ReceivedBytes, mark: int, waited: float) -> str:
    """What arrived since `mark`, as a repr, or that nothing did."""
    data = received.since(mark)
    if data:
        note = " (then the connection was closed)" if received.closed else ""
        return show_bytes(data) + note
    if received.closed:
        return "nothing: the connection was closed"
    return f"nothing arrived within {waited:g} s"


async def _read_into(reader: asyncio.StreamReader, received: ReceivedBytes) -> None:
    """Read a connection until it ends, keeping every byte."""
    try:
        while chunk := await reader.read(READ_SIZE):
            received.add(chunk)
    except ConnectionError:
        pass
    received.add(b"")


class Peer:
    """A raw chat client, like `nc`: sends exact bytes, keeps every byte the server sends back."""

    def __init__(self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.name = name
        self.writer = writer
        ip, port = writer.get_extra_info("sockname")[:2]
        self.address = f"{ip}:{port}"
        self.address_key = (ip, port)
        """The (IP, port) tuple the server sees this client as: its key in CLIENTS."""
        self.received = ReceivedBytes()
        self._reading = asyncio.create_task(_read_into(reader, self.received))

    @classmethod
    async def connect(cls, name: str, port: int) -> Peer:
        """Connect to the server under test on 127.0.0.1:port."""
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError as error:
            raise Mismatch(f"{name} could not connect to 127.0.0.1:{port}: {error}") from None
        return cls(name, reader, writer)

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"

    def mark(self) -> int:
        """A bookmark in what this peer received, to look only at what comes after it."""
        return len(self.received.data)

    async def send(self, text: str) -> None:
        """Send `text` as UTF-8, nothing added, as the course's clients do."""
        await self.send_bytes(text.encode())

    async def send_bytes(self, data: bytes) -> None:
        """Send exactly `data`; a connection the server has already closed is not an error here."""
        try:
            self.writer.write(data)
            await self.writer.drain()
        except ConnectionError:
            pass

    async def expect_line(self, line: str, since: int, sent: str, timeout: float | None = None) -> None:
        """Wait for the exact line `line` + "\\n" after `since`; Mismatch showing what arrived if not."""
        timeout = WAIT_SECONDS if timeout is None else timeout
        expected = f"{line}\n".encode()

        def has_line(data: bytes) -> bool:
            return expected in _whole_lines(data[since:])

        if not await self.received.wait_until(has_line, timeout):
            arrived = self.received.since(since)
            raise Mismatch(
                f"{self} did not receive the line it should have",
                sent=sent,
                expected=show_bytes(expected),
                arrived=describe_arrival(self.received, since, timeout),
                hint=difference_hint(expected, _whole_lines(arrived) or [arrived]),
            )

    async def close(self) -> None:
        """Leave cleanly: the server reads an empty message."""
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass

    def vanish(self) -> None:
        """Disappear abruptly: the connection is reset, as when a laptop's Wi-Fi drops."""
        if self.writer.is_closing():
            return
        connection = self.writer.get_extra_info("socket")
        if connection is not None:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


def difference_hint(expected: bytes, arrived_lines: list[bytes]) -> str:
    """Where the arrived line closest to `expected` first differs from it, when one is close."""
    if any(line == expected[:-1] for line in arrived_lines):
        return 'each line the server sends ends with a newline, "\\n"'

    def common_prefix(line: bytes) -> int:
        return next(
            (index for index, (a, b) in enumerate(zip(line, expected)) if a != b),
            min(len(line), len(expected)),
        )

    closest = max(arrived_lines, key=common_prefix)
    index = common_prefix(closest)
    if index < 3:
        return ""
    return (
        f"the first difference is at byte {index}: expected {expected[index:index + 12]!r}, "
        f"arrived {closest[index:index + 12]!r}"
    )


def _whole_lines(data: bytes) -> list[bytes]:
    """The complete lines in `data`, each with its "\\n"."""
    return [line for line in data.splitlines(keepends=True) if line.endswith(b"\n")]


async def start_server_under_test(
    server: Callable[..., Awaitable[Any]], show: Show
) -> tuple[asyncio.Server, int]:
    """Start the student's `start_server(host, port, show)` on port 0: the server and its port."""
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            started = await server(HOST, 0, show)
    except TimeoutError:
        raise Mismatch(
            f"start_server did not return within {WAIT_SECONDS:g} s",
            expected="the asyncio.Server, returned as soon as it listens",
            hint="leave `await server.serve_forever()` out of start_server: "
            "whoever calls it decides how long to serve",
        ) from None
    if started is None or started is Ellipsis:
        raise NotImplementedError
    if not isinstance(started, asyncio.Server):
        raise Mismatch(
            "start_server must return the asyncio.Server that asyncio.start_server() gave it",
            expected="an asyncio.Server",
            arrived=repr(started),
        )
    return started, started.sockets[0].getsockname()[1]


def server_from_handler(handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[asyncio.Server]]:
    """A `start_server(host, port, show)` around a `handle_client(reader, writer[, show])`."""
    takes_show = "show" in inspect.signature(handler).parameters

    async def start_server(host: str, port: int, show: Show) -> asyncio.Server:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await (handler(reader, writer, show=show) if takes_show else handler(reader, writer))

        return await asyncio.start_server(serve, host, port)

    start_server.__wrapped__ = handler  # type: ignore[attr-defined]
    start_server.shows_console = takes_show  # type: ignore[attr-defined]
    return start_server


class Console:
    """What a program shows (its `show`), as a person would see it on a terminal, with a way to wait."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        """Each text passed to show(), as it was given."""
        self.screen = TerminalScreen()
        self.shown_count = 0
        self._changed = asyncio.Event()

    def show(self, line: str) -> None:
        """What the program under test calls instead of print (past MAX_SHOWN_LINES, only counted)."""
        self.shown_count += 1
        if self.shown_count <= MAX_SHOWN_LINES:
            self.lines.append(str(line))
            self.screen.print(str(line))
        self._changed.set()

    async def expect(self, line: str, sent: str, timeout: float | None = None, *, exact: bool = True) -> None:
        """Wait for `line` on the screen (a line containing it if not `exact`); else Mismatch."""
        timeout = WAIT_SECONDS if timeout is None else timeout

        def is_shown() -> bool:
            seen = self.screen.lines()
            return line in seen if exact else any(line in shown for shown in seen)

        try:
            async with asyncio.timeout(timeout):
                while not is_shown():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            seen = [shown for shown in self.screen.lines() if shown]
            raise Mismatch(
                "the expected line was not shown",
                sent=sent,
                expected=repr(line) if exact else f"a line containing {line!r}",
                arrived=(
                    ("on the screen: " + ", ".join(map(repr, seen)))
                    if seen
                    else f"nothing within {timeout:g} s"
                ),
                hint="" if self.lines else "show lines with the `show` parameter, show(...), not print(...)",
            ) from None


class ScriptedServer:
    """A server for checking clients: one connection at a time, kept as `received` bytes."""

    def __init__(self) -> None:
        self.received = ReceivedBytes()
        self.writer: asyncio.StreamWriter | None = None
        self.client_address = ""
        self._connected = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> int:
        """Listen on 127.0.0.1, any free port, and return that port."""
        self._server = await asyncio.start_server(self._accept, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ip, port = writer.get_extra_info("peername")[:2]
        self.client_address = f"{ip}:{port}"
        self.writer = writer
        self._connected.set()
        await _read_into(reader, self.received)

    async def wait_for_client(self, timeout: float | None = None) -> None:
        """Wait for the client under test to connect."""
        timeout = WAIT_SECONDS if timeout is None else timeout
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        except TimeoutError:
            raise Mismatch(
                f"the client did not connect to 127.0.0.1:{self.port}",
                expected="a connection",
                arrived=f"none within {timeout:g} s",
            ) from None

    async def send(self, data: bytes) -> None:
        """Send bytes to the connected client."""
        assert self.writer is not None
        self.writer.write(data)
        await self.writer.drain()

    async def expect(
        self, accepted: tuple[bytes, ...], since: int, sent: str, timeout: float | None = None
    ) -> None:
        """Wait until the client has sent exactly one of `accepted` after `since`."""
        timeout = WAIT_SECONDS if timeout is None else timeout

        def complete(data: bytes) -> bool:
            arrived = data[since:]
            return any(arrived == option for option in accepted) or len(arrived) >= max(map(len, accepted))

        await self.received.wait_until(complete, timeout)
        if self.received.since(since) not in accepted:
            raise Mismatch(
                "the client did not send the expected bytes",
                sent=sent,
                expected=" or ".join(repr(option) for option in accepted),
                arrived=describe_arrival(self.received, since, timeout),
            )

    def hang_up(self) -> None:
        """Close the connection to the client, as a server that stops would."""
        if self.writer is not None:
            self.writer.close()

    def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()


class Keyboard:
    """What a client reads instead of the keyboard: lines given by the check, waiting when none are."""

    def __init__(self) -> None:
        self._typed: asyncio.Queue[str] = asyncio.Queue()
        self.waiting = asyncio.Event()

    async def read_line(self, prompt: str = "") -> str:
        """The next typed line; blocks (like a user who types nothing) until `type` gives one."""
        self.waiting.set()
        line = await self._typed.get()
        self.waiting.clear()
        return line

    def type(self, line: str) -> None:
        """Type a line, as a user pressing Enter."""
        self._typed.put_nowait(line)
