"""Stages ii_5 and ii_6 over real loopback TCP: pseudos, announcements, departures, bad input."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from chatlib.notebook.background import start_client
from chatlib.stages.ii_5.client import ask_pseudo
from chatlib.stages.ii_5.client import run_client as run_ii_5_client
from chatlib.stages.ii_6.client import run_client as run_ii_6_client

from .conftest import TIMEOUT, Connect, RawClient, Serve, stage_module

HELLO_ERROR = "Error: the first message must be Hello|<PSEUDO>"
UTF8_ERROR = "Error: that message was not valid UTF-8 text; it was not sent"
BOTH = pytest.mark.parametrize("stage", ["ii_5", "ii_6"])


async def join(connect: Connect, port: int, pseudo: str, *already_in: RawClient) -> RawClient:
    """Connect as `pseudo`; it and everyone already in hear the announcement."""
    client = await connect(port)
    await client.send(f"Hello|{pseudo}")
    for member in (*already_in, client):
        assert await member.line() == f"Annonce : {pseudo} a rejoint la chatroom"
    return client


def address_tuple(client: RawClient) -> tuple[str, int]:
    ip, port = client.address.split(":")
    return ip, int(port)


def reset_on_close(client: RawClient) -> None:
    """Make the next close send a TCP reset, like a peer that vanishes (crash, cable pulled)."""
    sock = client.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@BOTH
async def test_pseudos_are_announced_to_everyone_and_used_for_messages(
    stage: str, serve: Serve, connect: Connect
) -> None:
    server = await serve(stage)
    alice = await join(connect, server.port, "alice")
    bob = await join(connect, server.port, "bob", alice)
    carol = await connect(server.port)
    await carol.send("Hello|carol\n")  # as nc sends it
    for member in (alice, bob, carol):
        assert await member.line() == "Annonce : carol a rejoint la chatroom"
    assert stage_module(stage, "server").CLIENTS[address_tuple(alice)]["pseudo"] == "alice"

    await alice.send("salut")
    assert await bob.line() == "alice a dit : salut"
    assert await carol.line() == "alice a dit : salut"
    await bob.send("yo")
    assert await alice.line() == "bob a dit : yo"  # not her own "salut"
    assert await carol.line() == "bob a dit : yo"
    assert f"Message received from {alice.address} : salut" in server.lines
    assert f"{alice.address} joined as alice" in server.lines


@BOTH
@pytest.mark.parametrize(
    "first_message",
    [b"Bonjour", b"Hello", b"Hello|", b"Hello|   ", b"Hello|\n", b"hello|x", b"\xffHello|x"],
)
async def test_a_bad_first_message_is_refused_and_hurts_nobody(
    stage: str, first_message: bytes, serve: Serve, connect: Connect
) -> None:
    server = await serve(stage)
    alice = await join(connect, server.port, "alice")
    bob = await join(connect, server.port, "bob", alice)
    intruder = await connect(server.port)
    await intruder.send(first_message)
    assert await intruder.line() == HELLO_ERROR
    assert await intruder.rest() == ""
    await server.wait_for(f"Rejected {intruder.address}: its first message was not Hello|<PSEUDO>")
    await alice.send("after")
    assert await bob.line() == "alice a dit : after"  # nothing about the intruder came first
    assert len(stage_module(stage, "server").CLIENTS) == 2


@BOTH
async def test_connect_and_close_and_invalid_utf8_later(stage: str, serve: Serve, connect: Connect) -> None:
    server = await serve(stage)
    alice = await join(connect, server.port, "alice")
    bob = await join(connect, server.port, "bob", alice)
    ghost = await connect(server.port)
    await ghost.close()
    await server.wait_for(f"{ghost.address} left before saying Hello")
    await alice.send(b"caf\xe9")
    assert await alice.line() == UTF8_ERROR
    await server.wait_for(f"Dropped a message from {alice.address}: not valid UTF-8")
    await alice.send("caf\u00e9")
    assert (
        await bob.line() == "alice a dit : caf\u00e9"
    )  # bob's first line since: the garbled one was dropped


async def test_ii_5_forgets_a_client_that_vanishes_silently(serve: Serve, connect: Connect) -> None:
    server = await serve("ii_5")
    alice = await join(connect, server.port, "alice")
    bob = await join(connect, server.port, "bob", alice)
    reset_on_close(bob)
    await bob.close()
    await alice.send("anyone?")
    clients = stage_module("ii_5", "server").CLIENTS
    async with asyncio.timeout(TIMEOUT):
        while address_tuple(bob) in clients:
            await asyncio.sleep(0.01)
    carol = await join(connect, server.port, "carol", alice)
    await carol.send("hi")
    assert await alice.line() == "carol a dit : hi"


@pytest.mark.parametrize("vanish", [False, True], ids=["close", "reset"])
async def test_ii_6_a_departure_is_announced_to_those_left(
    vanish: bool, serve: Serve, connect: Connect
) -> None:
    server = await serve("ii_6")
    alice = await join(connect, server.port, "alice")
    bob = await join(connect, server.port, "bob", alice)
    carol = await join(connect, server.port, "carol", alice, bob)
    if vanish:
        reset_on_close(bob)
    await bob.close()
    assert await alice.line() == "Annonce : bob a quitt\u00e9 la chatroom"
    assert await carol.line() == "Annonce : bob a quitt\u00e9 la chatroom"
    assert set(stage_module("ii_6", "server").CLIENTS) == {address_tuple(alice), address_tuple(carol)}
    assert f"{bob.address} (bob) left" in server.lines
    await carol.send("bye bob")
    assert await alice.line() == "carol a dit : bye bob"


async def test_ii_6_server_stopping_tells_everyone_and_announces_no_departure(
    serve: Serve, connect: Connect
) -> None:
    server = await serve("ii_6")
    alice = await join(connect, server.port, "alice")
    bob = await join(connect, server.port, "bob", alice)
    carol = await join(connect, server.port, "carol", alice, bob)
    await server.stop()
    for member in (alice, bob, carol):
        assert await member.rest() == "Annonce : le serveur s'arr\u00eate\n"
    assert not any("left" in line for line in server.lines)


async def test_ii_5_server_stopping_just_hangs_up(serve: Serve, connect: Connect) -> None:
    server = await serve("ii_5")
    alice = await join(connect, server.port, "alice")
    bob = await join(connect, server.port, "bob", alice)
    await server.stop()
    assert await alice.rest() == ""
    assert await bob.rest() == ""


async def test_ii_6_client_stops_when_the_server_goes_away(serve: Serve, connect: Connect) -> None:
    server = await serve("ii_6")
    bob = await join(connect, server.port, "bob")
    alice = await start_client(run_ii_6_client, "alice", port=server.port, pseudo="alice")
    await alice.wait_for("Annonce : alice a rejoint la chatroom")
    assert await bob.line() == "Annonce : alice a rejoint la chatroom"
    alice.type("hello")
    assert await bob.line() == "alice a dit : hello"
    await bob.send("hi alice")
    await alice.wait_for("bob a dit : hi alice")
    await server.stop()
    await alice.wait_until_stopped(TIMEOUT)
    assert not alice.running
    assert isinstance(alice.error, ConnectionError)
    assert str(alice.error) == "the server has closed the connection"


async def test_ii_6_client_leaving_with_ctrl_d_is_announced(serve: Serve, connect: Connect) -> None:
    server = await serve("ii_6")
    bob = await join(connect, server.port, "bob")
    alice = await start_client(run_ii_6_client, "alice", port=server.port, pseudo="alice")
    assert await bob.line() == "Annonce : alice a rejoint la chatroom"
    await alice.leave()
    assert isinstance(alice.error, EOFError)
    assert await bob.line() == "Annonce : alice a quitt\u00e9 la chatroom"


async def test_ii_5_client_sends_hello_with_its_pseudo_and_shows_lines_safely(
    serve: Serve, connect: Connect
) -> None:
    server = await serve("ii_5")
    evil = await join(connect, server.port, "\x1b[31mevil")
    alice = await start_client(run_ii_5_client, "alice", port=server.port, pseudo="it4")
    assert await evil.line() == "Annonce : it4 a rejoint la chatroom"
    await alice.wait_for("Annonce : it4 a rejoint la chatroom")
    await evil.send("\x07ring")
    await alice.wait_for("\\x1b[31mevil a dit : \\x07ring")


def test_ask_pseudo_insists_on_a_non_empty_pseudo(capsys: pytest.CaptureFixture[str]) -> None:
    answers = iter(["", "   ", " it4 "])
    assert ask_pseudo(lambda prompt: next(answers)) == "it4"
    assert capsys.readouterr().out == "A pseudo cannot be empty.\n" * 2
