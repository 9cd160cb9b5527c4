"""Part II client checks: the student's client against a scripted server, with a keyboard and a screen.

What the client shows is compared as a person would see it (through a terminal emulator), so a
client that tidies its display with control codes passes as long as the right line appears.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from chatlib.checks import peers
from chatlib.checks.isolation import run_blocking
from chatlib.checks.loading import global_names
from chatlib.checks.locations import tasks_awaiting
from chatlib.checks.peers import HOST, Console, Keyboard, ScriptedServer
from chatlib.checks.report import Mismatch
from chatlib.checks.scenarios import Implementation

ScenarioRun = Callable[[Implementation], Awaitable[None]]
PSEUDO_STAGES = ("ii_5", "ii_6")
CLIENT_PSEUDO = "it4"
SERVER_READS = (
    "asyncio.streams.read",
    "asyncio.streams.readline",
    "asyncio.streams.readuntil",
    "asyncio.streams.readexactly",
)

GATHER_HINT = (
    "show lines with show(...), and wait for the keyboard and for the server at the same time: "
    "two coroutines run with asyncio.gather()"
)
TAKES_TURNS_HINT = (
    "your client waits for the keyboard and meanwhile does not read what the server sends (it takes "
    "turns): run the two loops, one for the keyboard and one for the server, at once with asyncio.gather()"
)
WAITS_FOR_SERVER_HINT = (
    "your client is waiting for the server and meanwhile does not read the keyboard (it takes turns): "
    "run the two loops, one for the keyboard and one for the server, at once with asyncio.gather()"
)


class ClientUnderTest:
    """The student's client running against a scripted server, with a keyboard and a screen."""

    def __init__(
        self, server: ScriptedServer, keyboard: Keyboard, screen: Console, task: asyncio.Future[Any]
    ) -> None:
        self.server = server
        self.keyboard = keyboard
        self.screen = screen
        self.task = task

    async def until_connected(self) -> None:
        """Wait for the connection; an error the client raised first is reported instead."""
        connected = asyncio.ensure_future(self.server.wait_for_client())
        await asyncio.wait({connected, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if not connected.done():
            connected.cancel()
            self.task.result()  # raises what the client raised (NotImplementedError included)
            raise Mismatch("the client returned without connecting to the server")
        connected.result()


@asynccontextmanager
async def running_client(stage: str, given: Implementation) -> AsyncIterator[ClientUnderTest]:
    """Start the student's `run_client` against a scripted server, and stop both afterwards."""
    server = ScriptedServer()
    port = await server.start()
    keyboard, screen = Keyboard(), Console()
    pseudo = (CLIENT_PSEUDO,) if stage in PSEUDO_STAGES else ()
    coroutine = given["client"](HOST, port, *pseudo, keyboard.read_line, screen.show)
    if coroutine is None or coroutine is Ellipsis:
        raise NotImplementedError
    if not inspect.isawaitable(coroutine):
        raise Mismatch("run_client must be a coroutine function (async def)", arrived=repr(coroutine))
    client = ClientUnderTest(server, keyboard, screen, asyncio.ensure_future(coroutine))
    try:
        await client.until_connected()
        yield client
    finally:
        client.task.cancel()
        server.hang_up()
        server.close()


def first_message(stage: str) -> bytes:
    """What a client of this stage must send first, exactly."""
    return f"Hello|{CLIENT_PSEUDO}".encode() if stage in PSEUDO_STAGES else b"Hello"


async def greeted(client: ClientUnderTest, stage: str) -> None:
    """Check the client's first bytes are its greeting."""
    greeting = first_message(stage)
    await client.server.expect(
        (greeting, greeting + b"\n"), 0, sent="(nothing: the client had just connected)"
    )


def client_says_hello(stage: str) -> ScenarioRun:
    """The client's first bytes are its greeting: `Hello`, or `Hello|PSEUDO` from ii_5 on."""

    async def scenario(given: Implementation) -> None:
        async with running_client(stage, given) as client:
            await greeted(client, stage)

    return scenario


def client_shows_while_waiting(stage: str) -> ScenarioRun:
    """Lines from the server are shown while the user types nothing."""

    async def scenario(given: Implementation) -> None:
        async with running_client(stage, given) as client:
            await greeted(client, stage)
            if stage in PSEUDO_STAGES:
                lines = [f"Annonce : {CLIENT_PSEUDO} a rejoint la chatroom", "bob a dit : coucou"]
            else:
                lines = [f"Hello {client.server.client_address}", "127.0.0.1:40000 a dit : coucou"]
            for line in lines:
                await client.server.send(f"{line}\n".encode())
                try:
                    await client.screen.expect(
                        line, sent=f"the server sent {line!r} + '\\n' while the user typed nothing"
                    )
                except Mismatch as mismatch:
                    if not client.screen.lines:
                        mismatch.hint = GATHER_HINT
                    elif client.keyboard.waiting.is_set() and not tasks_awaiting(SERVER_READS):
                        mismatch.hint = TAKES_TURNS_HINT
                    raise

    return scenario


def client_sends_typed_lines(stage: str) -> ScenarioRun:
    """Each typed line is sent as it is (a newline after it is accepted)."""

    async def scenario(given: Implementation) -> None:
        async with running_client(stage, given) as client:
            await greeted(client, stage)
            for text in ("bonjour", "ça va ?"):
                mark = len(client.server.received.data)
                client.keyboard.type(text)
                expected = text.encode()
                try:
                    await client.server.expect(
                        (expected, expected + b"\n"), mark, sent=f"the user typed {text!r}"
                    )
                except Mismatch as mismatch:
                    if not client.keyboard.waiting.is_set() and tasks_awaiting(SERVER_READS):
                        mismatch.hint = WAITS_FOR_SERVER_HINT
                    raise

    return scenario


def client_stops_when_server_leaves(stage: str) -> ScenarioRun:
    """When the server closes the connection, run_client ends instead of waiting forever."""

    async def scenario(given: Implementation) -> None:
        async with running_client(stage, given) as client:
            await greeted(client, stage)
            client.server.hang_up()
            await asyncio.wait({client.task}, timeout=peers.WAIT_SECONDS)
            if not client.task.done():
                raise Mismatch(
                    "run_client went on running after the server closed the connection",
                    sent="the server closed the connection",
                    expected="run_client returns or raises ConnectionError",
                    arrived=f"still running after {peers.WAIT_SECONDS:g} s",
                )
            if not client.task.cancelled() and isinstance(client.task.exception(), NotImplementedError):
                raise NotImplementedError

    return scenario


def say_hello_scenario(stage: str) -> ScenarioRun:
    """The blocking ii_2 client, a plain function over a socket, sends `Hello` and shows the answer."""

    async def scenario(given: Implementation) -> None:
        say_hello = given["client"]
        if inspect.iscoroutinefunction(inspect.unwrap(say_hello)):
            raise Mismatch(
                "say_hello must be a plain function: at ii_2 the client is a blocking socket, nothing "
                "async yet",
                expected="def say_hello(host, port, show): socket.create_connection(...), sendall, recv",
                arrived=f"async def {getattr(say_hello, '__name__', 'say_hello')}(...)",
                hint="asyncio comes at ii_3; here connect with the socket module",
            )
        function = inspect.unwrap(say_hello)
        if inspect.isfunction(function) and global_names(function.__code__) & {"asyncio", "open_connection"}:
            raise Mismatch(
                "say_hello must use a plain socket: at ii_2 there is nothing async yet",
                expected="socket.create_connection(...) (or socket.socket()), sendall, recv",
                arrived="say_hello uses asyncio",
                hint="asyncio comes at ii_3; here connect with the socket module",
            )
        server = ScriptedServer()
        port = await server.start()
        screen = Console()
        loop = asyncio.get_running_loop()

        def show(line: str) -> None:
            loop.call_soon_threadsafe(screen.show, str(line))

        async def call_say_hello() -> None:
            result = await run_blocking(say_hello, HOST, port, show)
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise Mismatch(
                    "say_hello must be a plain function that does the work itself, over a socket",
                    arrived=f"it returned {result!r}, something to await",
                )

        try:
            saying = asyncio.ensure_future(call_say_hello())
            await ClientUnderTest(server, Keyboard(), screen, saying).until_connected()
            await server.expect((b"Hello", b"Hello\n"), 0, sent="(nothing: the client had just connected)")
            answer = f"Hello {server.client_address}"
            await server.send(f"{answer}\n".encode())
            server.hang_up()
            await screen.expect(answer, sent=f"the server answered {answer!r} + '\\n'")
            async with asyncio.timeout(peers.WAIT_SECONDS):
                await saying
        finally:
            server.close()

    return scenario
