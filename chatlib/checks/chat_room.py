"""The student's server under test, and the raw clients (`Peer`s) that join it in a scenario."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from chatlib.checks import peers
from chatlib.checks.clients_dict import Address, expect_clients
from chatlib.checks.isolation import end_other_tasks
from chatlib.checks.locations import tasks_awaiting
from chatlib.checks.peers import Console, Peer, start_server_under_test
from chatlib.checks.report import Mismatch
from chatlib.checks.scenarios import Implementation

PSEUDO_STAGES = ("ii_5", "ii_6")
LINE_READS = ("asyncio.streams.readline", "asyncio.streams.readuntil", "asyncio.streams.readexactly")
ANNOUNCE_HINT = "the newcomer hears its own announcement too: send it to every client in CLIENTS"


def read_hint() -> str:
    """A hint when the server is waiting for a newline that the clients never send, else ""."""
    waiting = tasks_awaiting(LINE_READS)
    if not waiting:
        return ""
    return (
        f"your server is waiting at {waiting[0]} for more bytes (a newline?), but messages come "
        "without one: read each with `await reader.read(1024)`"
    )


class ChatRoom:
    """The server under test, and the raw clients (`Peer`s) that joined it in a scenario."""

    def __init__(
        self, stage: str, port: int, console: Console, console_checked: bool, server: Callable[..., Any]
    ) -> None:
        self.stage = stage
        self.port = port
        self.console = console
        self.console_checked = console_checked
        self.server = server
        self.peers: list[Peer] = []

    @property
    def has_pseudos(self) -> bool:
        """From ii_5 on, clients greet with `Hello|PSEUDO` and are named by their pseudo."""
        return self.stage in PSEUDO_STAGES

    async def connect(self, name: str) -> Peer:
        """A new raw client, connected but silent."""
        peer = await Peer.connect(name, self.port)
        self.peers.append(peer)
        return peer

    async def join(self, name: str) -> Peer:
        """A new client that has greeted the server as the stage wants, and got its answer."""
        peer = await self.connect(name)
        mark = peer.mark()
        greeting = f"Hello|{name}" if self.has_pseudos else "Hello"
        answer = f"Annonce : {name} a rejoint la chatroom" if self.has_pseudos else f"Hello {peer.address}"
        await peer.send(greeting)
        try:
            await peer.expect_line(
                answer, mark, sent=f"{peer} sent {greeting!r}, with no newline, as the course's clients do"
            )
        except Mismatch as mismatch:
            if not mismatch.hint and not peer.received.since(mark):
                mismatch.hint = read_hint() or (ANNOUNCE_HINT if self.has_pseudos else "")
            raise
        return peer

    def speaker_name(self, peer: Peer) -> str:
        """How the server names `peer` in relayed messages at this stage: its address or its pseudo."""
        return peer.name if self.has_pseudos else peer.address

    async def expect_console(self, line: str, sent: str, exact: bool = True) -> None:
        """Check the server's console shows `line` (the server must take a `show` parameter)."""
        if not self.console_checked:
            raise Mismatch(
                "handle_client has no `show` parameter, so its console cannot be checked",
                expected="handle_client(reader, writer, show: Callable[[str], None] = print), "
                "calling show(...)",
            )
        await self.console.expect(line, sent, exact=exact)

    async def expect_clients(self, present: list[Peer], gone: list[Peer], sent: str) -> None:
        """Check the student's CLIENTS holds `present` (and, if given, none of `gone`)."""
        expected: dict[Address, str | None] = {
            peer.address_key: (peer.name if self.has_pseudos else None) for peer in present
        }
        await expect_clients(
            self.server, expected, [peer.address_key for peer in gone], sent, peers.WAIT_SECONDS
        )


@asynccontextmanager
async def chat_room(stage: str, given: Implementation) -> AsyncIterator[ChatRoom]:
    """Start the student's server on port 0; stop it and its connections' tasks, then reset every client.

    The server's tasks end first, so no handler reacts to the clients' departures (those the
    scenarios check are made on purpose, before).
    """
    console = Console()
    server, port = await start_server_under_test(given["server"], console.show)
    room = ChatRoom(stage, port, console, getattr(given["server"], "shows_console", True), given["server"])
    try:
        yield room
    finally:
        server.close()
        await end_other_tasks()
        for peer in room.peers:
            peer.vanish()


def said(peer: Peer, text: str) -> str:
    """How the report describes what a client sent."""
    return f"{peer} sent {text!r}"
