"""The notebook helper: background servers replaced on the same address, stopped with their clients;
what each cell prints; a busy port named in one line."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from chatlib.notebook.app_demo import start_chat_server
from chatlib.notebook.background import serve_in_background, shorten, start_client, stop_all
from chatlib.notebook.ports import PortInUse
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
    # What starting and stopping did is printed; what the connections did is kept, not printed.
    assert capsys.readouterr().out == f"Serving on 127.0.0.1:{server.port}\nServer stopped.\n"
    assert "Annonce : alice a rejoint la chatroom" in alice.lines


async def test_connection_lines_wait_for_print_new_lines(capsys: pytest.CaptureFixture[str]) -> None:
    server = await serve_in_background(start_ii_6_server, port=0)
    try:
        assert capsys.readouterr().out == f"Serving on 127.0.0.1:{server.port}\n"
        client = await RawClient.connect(server.port)
        await client.send("Hello|" + "x" * 500)
        await server.wait_until(lambda lines: any(" joined as " in line for line in lines))
        assert capsys.readouterr().out == ""  # nothing lands under whatever cell runs meanwhile
        server.print_new_lines()
        joined = f"{client.address} joined as {'x' * 500}"
        assert capsys.readouterr().out == shorten(joined) + "\n"
        assert shorten(joined) == joined[:80] + f"[...{len(joined) - 160} more characters...]" + joined[-80:]
        server.print_new_lines()
        assert capsys.readouterr().out == f"(Server 127.0.0.1:{server.port} console: nothing new)\n"
        server.print_lines()
        assert capsys.readouterr().out.splitlines() == [
            f"Serving on 127.0.0.1:{server.port}",
            shorten(joined),
        ]
        await client.close()
    finally:
        await stop_all()


async def test_a_port_this_process_holds_is_named_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse) as raised:
            await serve_in_background(start_ii_3_server, "127.0.0.1", port)
    message = str(raised.value)
    assert message == (
        f"Port {port} on 127.0.0.1 is already in use by this notebook's own kernel (a server started "
        "earlier): run `await stop_all()` or restart the kernel, or set PORT to another number in the "
        "notebook's first cell and run the notebook again."
    )
    assert raised.value._render_traceback_() == [f"PortInUse: {message}"]  # what IPython shows


async def test_a_stage_server_running_in_a_terminal_is_named_with_its_pid() -> None:
    port = free_port()
    command = [sys.executable, "-m", "chatlib.stages.ii_6.server", "-p", str(port)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as terminal:
        try:
            assert terminal.stdout is not None
            assert terminal.stdout.readline() == f"Serving on 127.0.0.1:{port}\n"
            with pytest.raises(PortInUse) as raised:
                await serve_in_background(start_ii_3_server, "127.0.0.1", port)
        finally:
            terminal.terminate()
    python = Path(sys.executable).name  # "python" in the course's environment
    assert str(raised.value) == (
        f"Port {port} on 127.0.0.1 is already in use by `{python} -m chatlib.stages.ii_6.server -p {port}` "
        f"(pid {terminal.pid}): stop it (Ctrl+C in its terminal, or `kill {terminal.pid}`), or set PORT to "
        "another number in the notebook's first cell and run the notebook again."
    )


async def test_the_finished_chat_server_names_who_holds_its_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse, match=f"^Port {port} on 127.0.0.1 is already in use by this notebook's"):
            await start_chat_server("127.0.0.1", port)
