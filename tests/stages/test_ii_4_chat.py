"""Stage ii_4 over real loopback TCP: CLIENTS, and every message relayed to the others only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from chatlib.notebook.background import start_client
from chatlib.stages.ii_4 import server as ii_4_server
from chatlib.stages.ii_4.client import run_client

from .conftest import TIMEOUT, Connect, RawClient, Serve


async def wait_until(condition: Callable[[], bool]) -> None:
    """Wait until `condition()` holds, checking between turns of the event loop."""
    async with asyncio.timeout(TIMEOUT):
        while not condition():
            await asyncio.sleep(0.01)


def address_tuple(client: RawClient) -> tuple[str, int]:
    ip, port = client.address.split(":")
    return ip, int(port)


async def join(connect: Connect, port: int) -> RawClient:
    client = await connect(port)
    await client.send("Hello")
    assert await client.line() == f"Hello {client.address}"
    return client


async def test_messages_go_to_every_other_client_never_back(serve: Serve, connect: Connect) -> None:
    server = await serve("ii_4")
    alice, bob, carol = [await join(connect, server.port) for _ in range(3)]
    assert set(ii_4_server.CLIENTS) == {address_tuple(c) for c in (alice, bob, carol)}
    assert all(set(entry) == {"r", "w"} for entry in ii_4_server.CLIENTS.values())

    await alice.send("salut")
    assert await bob.line() == f"{alice.address} a dit : salut"
    assert await carol.line() == f"{alice.address} a dit : salut"
    await bob.send("yo\n")
    assert await alice.line() == f"{bob.address} a dit : yo"  # alice's next line: not her own "salut"
    assert await carol.line() == f"{bob.address} a dit : yo"
    await carol.send("\u00e7a va ?")
    assert await alice.line() == f"{carol.address} a dit : \u00e7a va ?"
    assert await bob.line() == f"{carol.address} a dit : \u00e7a va ?"  # bob's next line: not "yo"
    assert f"Message received from {alice.address} : salut" in server.lines


async def test_a_client_that_leaves_is_forgotten_and_the_others_go_on(serve: Serve, connect: Connect) -> None:
    server = await serve("ii_4")
    alice, bob, carol = [await join(connect, server.port) for _ in range(3)]
    await bob.close()
    await wait_until(lambda: address_tuple(bob) not in ii_4_server.CLIENTS)
    await alice.send("still there?")
    assert await carol.line() == f"{alice.address} a dit : still there?"
    await alice.send(b"\xff")
    assert await alice.line() == "Error: that message was not valid UTF-8 text; it was not sent"
    await carol.send("yes")
    assert await alice.line() == f"{carol.address} a dit : yes"


async def test_the_stage_client_receives_the_others_messages(serve: Serve, connect: Connect) -> None:
    server = await serve("ii_4")
    alice = await start_client(run_client, "alice", port=server.port)
    await alice.wait_until(lambda lines: len(lines) == 1)
    alice_address = alice.lines[0].removeprefix("Hello ")
    bob = await join(connect, server.port)
    await bob.send("\x1b[2Jhi")
    await alice.wait_for(f"{bob.address} a dit : \\x1b[2Jhi")  # shown escaped, never raw
    alice.type("hello bob")
    assert await bob.line() == f"{alice_address} a dit : hello bob"
