"""Stages ii_2 and ii_3 over real loopback TCP: the Hello answer, the console, no chat yet."""

from __future__ import annotations

import asyncio
import re

from chatlib.notebook.background import start_client
from chatlib.stages.ii_2.client import say_hello
from chatlib.stages.ii_3.client import run_client as run_ii_3_client

from .conftest import TIMEOUT, Connect, Serve

UTF8_ERROR = "Error: that message was not valid UTF-8 text; it was not sent"


async def test_ii_2_answers_hello_with_the_client_address_then_hangs_up(
    serve: Serve, connect: Connect
) -> None:
    server = await serve("ii_2")
    client = await connect(server.port)
    await client.send("Hello")
    assert await client.line() == f"Hello {client.address}"
    assert await client.rest() == ""
    assert f"Message received from {client.address} : Hello" in server.lines


async def test_ii_2_accepts_nc_lines_and_refuses_invalid_utf8(serve: Serve, connect: Connect) -> None:
    server = await serve("ii_2")
    nc = await connect(server.port)
    await nc.send("Hello\n")
    assert await nc.line() == f"Hello {nc.address}"
    await server.wait_for(f"Message received from {nc.address} : Hello")
    garbled = await connect(server.port)
    await garbled.send(b"\xffHello")
    assert await garbled.line() == UTF8_ERROR
    assert await garbled.rest() == ""
    await server.wait_for(f"Rejected {garbled.address}: its first message was not valid UTF-8")


async def test_ii_2_blocking_client_prints_the_answer(serve: Serve) -> None:
    server = await serve("ii_2")
    shown: list[str] = []
    async with asyncio.timeout(TIMEOUT):
        answer = await asyncio.to_thread(say_hello, "127.0.0.1", server.port, shown.append)
    assert re.fullmatch(r"Hello 127\.0\.0\.1:\d+", answer)
    assert shown == [answer]
    await server.wait_for(f"Message received from {answer.removeprefix('Hello ')} : Hello")


async def test_ii_3_server_prints_every_message_and_clients_do_not_hear_each_other(
    serve: Serve, connect: Connect
) -> None:
    server = await serve("ii_3")
    alice, bob = await connect(server.port), await connect(server.port)
    for client in (alice, bob):
        await client.send("Hello")
        assert await client.line() == f"Hello {client.address}"
    await alice.send("from alice")
    await server.wait_for(f"Message received from {alice.address} : from alice")
    await bob.send("from bob\n")
    await server.wait_for(f"Message received from {bob.address} : from bob")
    await alice.send(b"\xe9t\xe9")
    assert await alice.line() == UTF8_ERROR
    await alice.send("still here")
    await server.wait_for(f"Message received from {alice.address} : still here")
    await server.stop()
    assert await alice.rest() == ""
    assert await bob.rest() == ""


async def test_ii_3_client_says_hello_and_sends_what_is_typed(serve: Serve) -> None:
    server = await serve("ii_3")
    client = await start_client(run_ii_3_client, "alice", port=server.port)
    await client.wait_until(lambda lines: len(lines) == 1)
    address = client.lines[0].removeprefix("Hello ")
    assert re.fullmatch(r"127\.0\.0\.1:\d+", address)
    await server.wait_for(f"Message received from {address} : Hello")
    client.type("bonjour \u00e0 tous")
    await server.wait_for(f"Message received from {address} : bonjour \u00e0 tous")
    await client.leave()
    assert isinstance(client.error, EOFError)
    assert client.lines == [f"Hello {address}"]
