"""Part II checks: each stage's server and client, over real loopback TCP, strings byte for byte.

A server is given as `server=start_server` (shape `start_server(host, port, show) -> asyncio.Server`)
or `handler=handle_client` (shape `handle_client(reader, writer[, show])`); a client as
`client=run_client` (`run_client(host, port, [pseudo,] read_line, show)`), or for ii_2
`client=say_hello` (`say_hello(host, port, show)`, blocking).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from chatlib.checks import peers
from chatlib.checks.peers import (
    HOST,
    Console,
    Keyboard,
    Peer,
    ScriptedServer,
    server_from_handler,
    start_server_under_test,
)
from chatlib.checks.report import Mismatch
from chatlib.checks.scenarios import Implementation, Scenario, Step

STAGES = ("ii_2", "ii_3", "ii_4", "ii_5", "ii_6")
PSEUDO_STAGES = ("ii_5", "ii_6")
CLIENT_PSEUDO = "it4"
ScenarioFactory = Callable[[str], Callable[[Implementation], Awaitable[None]]]
"""Makes a scenario for one stage (the strings differ from stage to stage)."""

READ_HINT = "messages come without a newline: read them with `await reader.read(1024)`, not readline()"
ANNOUNCE_HINT = "the newcomer hears its own announcement too; " + READ_HINT
GATHER_HINT = (
    "show lines with show(...), and wait for the keyboard and for the server at the same time: "
    "two coroutines run with asyncio.gather()"
)


class ChatRoom:
    """The server under test, and the raw clients (`Peer`s) that joined it in a scenario."""

    def __init__(self, stage: str, port: int, console: Console, console_checked: bool) -> None:
        self.stage = stage
        self.port = port
        self.console = console
        self.console_checked = console_checked
        self.peers: list[Peer] = []

    async def connect(self, name: str) -> Peer:
        """A new raw client, connected but silent."""
        peer = await Peer.connect(name, self.port)
        self.peers.append(peer)
        return peer

    async def join(self, name: str) -> Peer:
        """A new client that has greeted the server as the stage wants, and got its answer."""
        peer = await self.connect(name)
        mark = peer.mark()
        greeting = f"Hello|{name}" if self.stage in PSEUDO_STAGES else "Hello"
        answer = (
            f"Annonce : {name} a rejoint la chatroom"
            if self.stage in PSEUDO_STAGES
            else f"Hello {peer.address}"
        )
        await peer.send(greeting)
        try:
            await peer.expect_line(
                answer, mark, sent=f"{peer} sent {greeting!r}, with no newline, as the course's clients do"
            )
        except Mismatch as mismatch:
            if not mismatch.hint and not peer.received.since(mark):
                mismatch.hint = ANNOUNCE_HINT if self.stage in PSEUDO_STAGES else READ_HINT
            raise
        return peer

    def speaker_name(self, peer: Peer) -> str:
        """How the server names `peer` in relayed messages at this stage: its address or its pseudo."""
        return peer.name if self.stage in PSEUDO_STAGES else peer.address

    async def expect_console(self, line: str, sent: str, exact: bool = True) -> None:
        """Check the server's console shows `line` (the server must take a `show` parameter)."""
        if not self.console_checked:
            raise Mismatch(
                "handle_client has no `show` parameter, so its console cannot be checked",
                expected="handle_client(reader, writer, show: Callable[[str], None] = print), "
                "calling show(...)",
            )
        await self.console.expect(line, sent, exact=exact)


@asynccontextmanager
async def chat_room(stage: str, given: Implementation) -> AsyncIterator[ChatRoom]:
    """Start the student's server on port 0; close every client and the server afterwards."""
    console = Console()
    server, port = await start_server_under_test(given["server"], console.show)
    room = ChatRoom(stage, port, console, getattr(given["server"], "shows_console", True))
    try:
        yield room
    finally:
        for peer in room.peers:
            peer.vanish()
        server.close()


def said(peer: Peer, text: str) -> str:
    """How the report describes what a client sent."""
    return f"{peer} sent {text!r}"


# --- Server scenarios -------------------------------------------------------------------------


def hello_is_answered(stage: str) -> Callable[[Implementation], Awaitable[None]]:
    """The first message gets its answer: `Hello {IP}:{Port}`, or the announcement from ii_5 on."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            await room.join("alice")

    return scenario


def hello_is_shown(stage: str) -> Callable[[Implementation], Awaitable[None]]:
    """The server's console shows what the client sent."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice = await room.join("alice")
            await room.expect_console("Hello", said(alice, "Hello"), exact=False)

    return scenario


def each_client_gets_its_own_address(stage: str) -> Callable[[Implementation], Awaitable[None]]:
    """Two clients greeting at once each get their own address back."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice, bob = await room.connect("alice"), await room.connect("bob")
            marks = alice.mark(), bob.mark()
            await bob.send("Hello")
            await alice.send("Hello")
            await bob.expect_line(f"Hello {bob.address}", marks[1], sent=said(bob, "Hello"))
            await alice.expect_line(f"Hello {alice.address}", marks[0], sent=said(alice, "Hello"))

    return scenario


def messages_are_shown(stage: str) -> Callable[[Implementation], Awaitable[None]]:
    """Each message, from either of two clients, is shown as `Message received from IP:Port : msg`."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice = await room.join("alice")
            bob = await room.join("bob")
            for peer, text in ((bob, "je suis bob"), (alice, "et moi alice"), (alice, "ça va ?")):
                await peer.send(text)
                await room.expect_console(f"Message received from {peer.address} : {text}", said(peer, text))

    return scenario


def messages_reach_every_other_client(stage: str) -> Callable[[Implementation], Awaitable[None]]:
    """A message reaches every other client as `NAME a dit : msg`, whoever sends it."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice, bob, carol = [await room.join(name) for name in ("alice", "bob", "carol")]
            for speaker, listeners, text in (
                (alice, (bob, carol), "salut"),
                (carol, (alice, bob), "ça va ?"),
            ):
                marks = [listener.mark() for listener in listeners]
                await speaker.send(text)
                for listener, mark in zip(listeners, marks):
                    await listener.expect_line(
                        f"{room.speaker_name(speaker)} a dit : {text}", mark, said(speaker, text)
                    )

    return scenario


def sender_never_hears_itself(stage: str) -> Callable[[Implementation], Awaitable[None]]:
    """Nothing about a message comes back to its sender."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice, bob = await room.join("alice"), await room.join("bob")
            alice_mark, bob_mark = alice.mark(), bob.mark()
            await alice.send("salut")
            await bob.expect_line(f"{room.speaker_name(alice)} a dit : salut", bob_mark, said(alice, "salut"))
            # bob's answer is relayed after alice's own message would have been: once it is there,
            # anything the server sent alice about her message has arrived too.
            await bob.send("bien reçu")
            answer = f"{room.speaker_name(bob)} a dit : bien reçu"
            await alice.expect_line(answer, alice_mark, said(bob, "bien reçu"))
            before_answer = alice.received.since(alice_mark).split(f"{answer}\n".encode())[0]
            if b"salut" in before_answer:
                raise Mismatch(
                    f"the sender, {alice}, got its own message back",
                    sent=said(alice, "salut"),
                    expected=f"nothing for {alice.name} before {answer!r}",
                    arrived=repr(before_answer),
                )

    return scenario


def a_departure_does_not_break_the_room(stage: str) -> Callable[[Implementation], Awaitable[None]]:
    """After a client left, the others still hear each other."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice, bob, carol = [await room.join(name) for name in ("alice", "bob", "carol")]
            await carol.close()
            mark = bob.mark()
            await alice.send("toujours là ?")
            await bob.expect_line(
                f"{room.speaker_name(alice)} a dit : toujours là ?",
                mark,
                f"{carol} left, then " + said(alice, "toujours là ?"),
            )

    return scenario


def newcomers_are_announced(stage: str) -> Callable[[Implementation], Awaitable[None]]:
    """Clients already in the room hear `Annonce : PSEUDO a rejoint la chatroom`."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice = await room.join("alice")
            mark = alice.mark()
            bob = await room.join("bob")
            await alice.expect_line("Annonce : bob a rejoint la chatroom", mark, said(bob, "Hello|bob"))

    return scenario


def departures_are_announced(stage: str, abruptly: bool) -> Callable[[Implementation], Awaitable[None]]:
    """A client leaving (cleanly, or its connection reset) is announced, and the room goes on."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice, bob, carol = [await room.join(name) for name in ("alice", "bob", "carol")]
            marks = alice.mark(), carol.mark()
            if abruptly:
                bob.vanish()
                how = f"{bob}'s connection was reset"
            else:
                await bob.close()
                how = f"{bob} closed its connection"
            for listener, mark in zip((alice, carol), marks):
                await listener.expect_line("Annonce : bob a quitté la chatroom", mark, how)
            mark = carol.mark()
            await alice.send("il est parti")
            await carol.expect_line(
                "alice a dit : il est parti", mark, f"{how}, then " + said(alice, "il est parti")
            )

    return scenario


SERVER_SCENARIOS: dict[str, list[tuple[str, ScenarioFactory]]] = {
    "ii_2": [
        ("server answers Hello with the client's IP:port", hello_is_answered),
        ("server shows what the client sent", hello_is_shown),
        ("server answers two clients, each with its own address", each_client_gets_its_own_address),
    ],
    "ii_3": [
        ("server answers Hello with the client's IP:port", hello_is_answered),
        ("server shows 'Message received from IP:Port : msg' for each message", messages_are_shown),
    ],
    "ii_4": [
        ("server answers Hello with the client's IP:port", hello_is_answered),
        ("server relays 'IP:Port a dit : msg' to every other client", messages_reach_every_other_client),
        ("server never sends a message back to its sender", sender_never_hears_itself),
        ("server goes on relaying after a client left", a_departure_does_not_break_the_room),
    ],
    "ii_5": [
        ("server announces 'Annonce : PSEUDO a rejoint la chatroom' to everyone", newcomers_are_announced),
        ("server relays 'PSEUDO a dit : msg' to every other client", messages_reach_every_other_client),
        ("server never sends a message back to its sender", sender_never_hears_itself),
    ],
}
SERVER_SCENARIOS["ii_6"] = [
    *SERVER_SCENARIOS["ii_5"],
    (
        "server announces 'Annonce : PSEUDO a quitté la chatroom' when a client leaves",
        lambda stage: departures_are_announced(stage, abruptly=False),
    ),
    (
        "server announces the departure of a client whose connection broke",
        lambda stage: departures_are_announced(stage, abruptly=True),
    ),
]


# --- Client scenarios -------------------------------------------------------------------------


class ClientUnderTest:
    """The student's client running against a scripted server, with a keyboard and a screen."""

    def __init__(
        self, server: ScriptedServer, keyboard: Keyboard, screen: Console, task: asyncio.Task[Any]
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

    def show(line: str) -> None:
        screen.show(str(line).rstrip("\r\n"))

    pseudo = (CLIENT_PSEUDO,) if stage in PSEUDO_STAGES else ()
    coroutine = given["client"](HOST, port, *pseudo, keyboard.read_line, show)
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


def client_says_hello(stage: str) -> Callable[[Implementation], Awaitable[None]]:
    """The client's first bytes are its greeting: `Hello`, or `Hello|PSEUDO` from ii_5 on."""

    async def scenario(given: Implementation) -> None:
        async with running_client(stage, given) as client:
            await greeted(client, stage)

    return scenario


def client_shows_while_waiting(stage: str) -> Callable[[Implementation], Awaitable[None]]:
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
                    raise

    return scenario


def client_sends_typed_lines(stage: str) -> Callable[[Implementation], Awaitable[None]]:
    """Each typed line is sent as it is (a newline after it is accepted)."""

    async def scenario(given: Implementation) -> None:
        async with running_client(stage, given) as client:
            await greeted(client, stage)
            for text in ("bonjour", "ça va ?"):
                mark = len(client.server.received.data)
                client.keyboard.type(text)
                expected = text.encode()
                await client.server.expect(
                    (expected, expected + b"\n"), mark, sent=f"the user typed {text!r}"
                )

    return scenario


def client_stops_when_server_leaves(stage: str) -> Callable[[Implementation], Awaitable[None]]:
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


def say_hello_scenario(stage: str) -> Callable[[Implementation], Awaitable[None]]:
    """The blocking ii_2 client sends `Hello` and shows the server's answer."""

    async def scenario(given: Implementation) -> None:
        server = ScriptedServer()
        port = await server.start()
        screen = Console()
        loop = asyncio.get_running_loop()

        def show(line: str) -> None:
            loop.call_soon_threadsafe(screen.show, str(line).rstrip("\r\n"))

        async def say_hello() -> None:
            result = await asyncio.to_thread(given["client"], HOST, port, show)
            if inspect.isawaitable(result):
                await result  # an async say_hello works too

        try:
            saying = asyncio.ensure_future(say_hello())
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


CLIENT_SCENARIOS: dict[str, list[tuple[str, ScenarioFactory]]] = {
    "ii_2": [("client sends Hello and shows the server's answer", say_hello_scenario)],
    "ii_3": [
        ("client sends Hello first", client_says_hello),
        ("client shows the server's lines while the user types nothing", client_shows_while_waiting),
        ("client sends what the user types", client_sends_typed_lines),
    ],
}
CLIENT_SCENARIOS["ii_4"] = CLIENT_SCENARIOS["ii_3"]
CLIENT_SCENARIOS["ii_5"] = [
    (f"client sends 'Hello|{CLIENT_PSEUDO}' first", client_says_hello),
    *CLIENT_SCENARIOS["ii_3"][1:],
]
CLIENT_SCENARIOS["ii_6"] = [
    *CLIENT_SCENARIOS["ii_5"],
    ("client stops when the server goes away", client_stops_when_server_leaves),
]

STAGE_TITLES = {
    "ii_2": "first server and blocking client",
    "ii_3": "asynchronous client",
    "ii_4": "a working chat",
    "ii_5": "pseudos",
    "ii_6": "disconnection",
}


def use_handler_as_server(given: Implementation) -> Implementation:
    """Accept `handler=handle_client` in place of `server=start_server`."""
    adapted = dict(given)
    handler = adapted.pop("handler", None)
    if adapted.get("server") is None and handler is not None:
        adapted["server"] = server_from_handler(handler)
    return adapted


def stage_step(stage: str) -> Step:
    """The checks of one Part II stage."""
    client_names = ("say_hello",) if stage == "ii_2" else ("run_client",)
    scenarios = [Scenario(name, ("server",), make(stage)) for name, make in SERVER_SCENARIOS[stage]]
    scenarios += [Scenario(name, ("client",), make(stage)) for name, make in CLIENT_SCENARIOS[stage]]
    return Step(
        name=stage,
        title=STAGE_TITLES[stage],
        names={"server": ("start_server",), "handler": ("handle_client",), "client": client_names},
        scenarios=scenarios,
        adapt=use_handler_as_server,
    )
