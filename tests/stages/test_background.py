"""The notebook helper: background servers replaced on the same address, stopped with their clients."""

from __future__ import annotations

import asyncio
import socket

import pytest

from chatlib.notebook.background import serve_in_background, start_client, stop_all
from chatlib.stages.ii_3.server import start_server as start_ii_3_server
from chatlib.stages.ii_6.client import run_client as run_ii_6_client
from chatlib.stages.ii_6.server import start_server as start_ii_6_server

from .conftest import RawClient


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_starting_again_on_the_same_address_replaces_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    first = await serve_in_background(start_ii_3_server, "127.0.0.1", port)
    try:
        client = await RawClient.connect(port)
        await client.send("Hello")
        assert await client.line() == f"Hello {client.address}"
        second = await serve_in_background(start_ii_6_server, "127.0.0.1", port)
        assert second.port == port
        assert first.lines[-1] == "Server stopped."
        assert await client.rest() == ""  # the old server hung up on its client
        await client.close()
        newcomer = await RawClient.connect(port)
        await newcomer.send("Hello|it4")
        assert await newcomer.line() == "Annonce : it4 a rejoint la chatroom"
        await newcomer.close()
    finally:
        await stop_all()
    assert not [record for record in caplog.records if record.name == "asyncio"]


async def test_stop_all_stops_clients_and_servers(capsys: pytest.CaptureFixture[str]) -> None:
    server = await serve_in_background(start_ii_6_server, port=0)
    alice = await start_client(run_ii_6_client, "alice", port=server.port, pseudo="alice")
    await alice.wait_for("Annonce : alice a rejoint la chatroom")
    await stop_all()
    assert not alice.running
    assert server.lines[-1] == "Server stopped."
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", server.port)
    printed = capsys.readouterr().out  # outside IPython, lines are printed as they come
    assert f"[Server 127.0.0.1:{server.port} console] Server stopped.\n" in printed
    assert "[alice's screen] Annonce : alice a rejoint la chatroom\n" in printed


async def test_a_busy_address_is_reported_at_once() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="address already in use"):
            await serve_in_background(start_ii_3_server, "127.0.0.1", taken.getsockname()[1])
