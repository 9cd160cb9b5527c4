"""The Part II notebook, headless, and the whole user path: a kernel serving, terminals chatting."""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pexpect
import pytest
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import KernelManager

from chatlib.classroom.exercises import STEPS
from chatlib.classroom.skeletons import write_mycode
from tests.notebook_runner import NOTEBOOKS, cell_text_outputs, execute_notebook

TIMEOUT = 20


def free_port() -> int:
    """A TCP port nobody listens on right now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.notebook
def test_the_chat_room_notebook_runs_headless_and_shows_each_stage(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port = free_port()
    monkeypatch.setenv("CHAT_PORT", str(port))
    write_mycode(tmp_path / "mycode", solutions=frozenset(STEPS))  # a student who wrote every stage
    monkeypatch.setenv("CHATLIB_MYCODE", str(tmp_path / "mycode"))
    notebook = execute_notebook("02_chat_room.ipynb")
    cells = {cell.id: cell for cell in notebook.cells}
    outputs = "\n".join(cell_text_outputs(cell) for cell in notebook.cells if cell.cell_type == "code")
    for stage in ("ii-2", "ii-3", "ii-4", "ii-5", "ii-6"):
        assert cell_text_outputs(cells[f"check-{stage}"]).endswith("every scenario checked passed")
    # the student's own server and client, run from cells
    assert cell_text_outputs(cells["run-ii-2-server"]) == f"Serving on 127.0.0.1:{port}\n"
    mine = cell_text_outputs(cells["run-ii-2-client"]).splitlines()
    assert mine[0].startswith("Hello 127.0.0.1:") and mine[1:] == [
        "Your server's console:",
        f"Message received from 127.0.0.1:{mine[0].split(':')[-1]} : Hello",
    ]
    # a server's start cell shows what starting printed, never what later cells made it print
    assert cell_text_outputs(cells["a4b45166"]) == f"Server stopped.\nServing on 127.0.0.1:{port}\n"
    assert cell_text_outputs(cells["0d9d2a45"]) == (
        f"Serving on 127.0.0.1:{port}\n"
        "demo hears: Annonce : demo a rejoint la chatroom\n"
        "alice sees: demo a dit : first messagesecond message\n"
    )
    assert max(len(line) for line in outputs.splitlines()) <= 160  # no 1024-character line of x
    expected = [
        f"The chat servers of this notebook listen on 127.0.0.1:{port}",
        f"Serving on 127.0.0.1:{port}",
        "bob sees:   ['Hello 127.0.0.1:",
        "Annonce : bob a rejoint la chatroom",
        "bob a dit : Salut alice !",
        "the server answers: b'Error: the first message must be Hello|<PSEUDO>\\n'",
        "Annonce : bob a quitt\u00e9 la chatroom",
        "still in CLIENTS: ['alice']",
        "why it stopped: ConnectionError('the server has closed the connection')",
        "alice sees: demo a dit : first messagesecond message",
        "one message of 1500 characters arrived as 2 messages of [1024, 476] characters",
        "Error: that message was not valid UTF-8 text; it was not sent\n"
        "Error: that message was not valid UTF-8 text; it was not sent",
        f"All stopped: nothing listens on 127.0.0.1:{port} any more.",
    ]
    for text in expected:
        assert text in outputs


def test_every_row_of_the_stages_table_has_its_two_columns() -> None:
    stored = nbformat.read(NOTEBOOKS / "02_chat_room.ipynb", as_version=4)
    rows = [line for line in stored.cells[0].source.splitlines() if line.startswith("|")]
    assert len(rows) == 7
    for row in rows:  # a pipe inside a cell is escaped, `Hello\\|<PSEUDO>`, so it does not split it
        assert len(re.split(r"(?<!\\)\|", row)) == 4, row


def test_the_notebook_is_stored_without_outputs() -> None:
    stored = nbformat.read(NOTEBOOKS / "02_chat_room.ipynb", as_version=4)
    code_cells = [cell for cell in stored.cells if cell.cell_type == "code"]
    assert code_cells
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells)


@pytest.fixture
def kernel() -> Iterator[BlockingKernelClient]:
    """A real Jupyter kernel (the course's python3), shut down at the end."""
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def run_cell(kernel: BlockingKernelClient, code: str) -> str:
    """Execute a cell in the kernel; return what it printed; fail on an error."""
    printed: list[str] = []

    def collect(message: dict) -> None:
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])
        elif message["msg_type"] == "error":
            printed.append("\n".join(message["content"]["traceback"]))

    reply = kernel.execute_interactive(code, timeout=TIMEOUT, output_hook=collect)
    assert reply["content"]["status"] == "ok", "".join(printed)
    return "".join(printed)


@pytest.mark.notebook
@pytest.mark.pty
def test_a_server_in_the_kernel_serves_terminal_clients_while_the_kernel_works(
    kernel: BlockingKernelClient,
) -> None:
    port = free_port()
    run_cell(
        kernel,
        f"""
from chatlib.notebook.background import serve_in_background, stop_all
import chatlib.stages.ii_6.server as stage
server = await serve_in_background(stage.start_server, "127.0.0.1", {port})
""",
    )
    alice = pexpect.spawn(
        sys.executable,
        ["-m", "chatlib.stages.ii_6.client", "-p", str(port)],
        encoding="utf-8",
        timeout=TIMEOUT,
        # no terminal emulator here to answer prompt_toolkit's cursor position requests
        env={**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1"},
    )
    alice.expect_exact("Your pseudo: ")
    alice.sendline("alice")
    alice.expect_exact("Annonce : alice a rejoint la chatroom")
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as bob:
        bob_lines = bob.makefile("r", encoding="utf-8")
        bob.sendall(b"Hello|bob\n")  # the way nc sends it
        assert bob_lines.readline() == "Annonce : bob a rejoint la chatroom\n"
        alice.expect_exact("Annonce : bob a rejoint la chatroom")

        assert run_cell(kernel, "print(6 * 7)") == "42\n"  # the kernel still answers

        alice.sendline("hello bob")
        assert bob_lines.readline() == "alice a dit : hello bob\n"
        bob.sendall(b"hi alice\n")
        alice.expect_exact("bob a dit : hi alice")
        lines = run_cell(
            kernel, "print(sorted(c['pseudo'] for c in stage.CLIENTS.values())); server.print_lines()"
        )
        assert lines.startswith("['alice', 'bob']\n")
        assert " : hi alice\n" in lines

        alice.sendintr()
        alice.expect_exact("Bye.")
        alice.expect(pexpect.EOF)
        assert "Traceback" not in alice.before
        assert bob_lines.readline() == "Annonce : alice a quitt\u00e9 la chatroom\n"
        run_cell(kernel, "await stop_all()")
        assert bob_lines.readline() == "Annonce : le serveur s'arr\u00eate\n"
        assert bob_lines.readline() == ""  # the server hung up on bob too
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
