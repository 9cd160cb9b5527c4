"""The stages' command-line tools in real pseudo-terminals (pexpect), as a student runs them."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Iterator

import pexpect
import pytest

pytestmark = pytest.mark.pty

TIMEOUT = 10


def spawn(module: str, *args: str) -> pexpect.spawn:
    """Start `python -m chatlib.stages.<module>` in a new pty, recording everything it prints."""
    child = pexpect.spawn(
        sys.executable, ["-m", f"chatlib.stages.{module}", *args], encoding="utf-8", timeout=TIMEOUT
    )
    child.logfile_read = io.StringIO()
    return child


def finish(child: pexpect.spawn) -> str:
    """Wait for the program to end; return everything it printed from its start."""
    child.expect(pexpect.EOF)
    child.close()
    return child.logfile_read.getvalue()


StartServer = Callable[[str], tuple[pexpect.spawn, int]]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Start a stage's server command on a free port; it is interrupted at the end if still running."""
    servers: list[pexpect.spawn] = []

    def start(stage: str) -> tuple[pexpect.spawn, int]:
        server = spawn(f"{stage}.server", "-p", "0")
        servers.append(server)
        server.expect(r"Serving on 127\.0\.0\.1:(\d+)\r\n")
        return server, int(server.match.group(1))

    yield start
    for server in servers:
        if server.isalive():
            server.sendintr()
            server.expect(pexpect.EOF)
        server.close()


def join(port: int, pseudo: str) -> pexpect.spawn:
    """Start the ii_6 client and give it a pseudo."""
    client = spawn("ii_6.client", "-p", str(port))
    client.expect_exact("Your pseudo: ")
    client.sendline(pseudo)
    client.expect_exact(f"Annonce : {pseudo} a rejoint la chatroom")
    return client


def test_ii_6_chat_between_two_terminals(start_server: StartServer) -> None:
    server, port = start_server("ii_6")
    alice = join(port, "alice")
    bob = join(port, "bob")
    alice.expect_exact("Annonce : bob a rejoint la chatroom")

    alice.sendline("bonjour bob")
    bob.expect_exact("alice a dit : bonjour bob")
    server.expect_exact(" : bonjour bob")
    bob.sendline("salut alice")
    # the prompt line is cleared, the message shown, and the prompt drawn again below it
    alice.expect_exact("\r\x1b[Kbob a dit : salut alice\r\n> ")

    bob.sendintr()
    bob.expect_exact("Bye.")
    assert "Traceback" not in finish(bob)
    assert bob.exitstatus == 0
    alice.expect_exact("Annonce : bob a quitt\u00e9 la chatroom")

    server.sendintr()
    server.expect_exact("Bye.")
    assert "Traceback" not in finish(server)
    alice.expect_exact("Connection lost: the server has closed the connection")
    assert "Traceback" not in finish(alice)
    assert alice.exitstatus == 1


def test_ii_3_client_and_server_in_terminals(start_server: StartServer) -> None:
    server, port = start_server("ii_3")
    client = spawn("ii_3.client", "-p", str(port))
    client.expect(r"Hello 127\.0\.0\.1:(\d+)")
    client_port = client.match.group(1)
    client.sendline("coucou")
    server.expect_exact(f"Message received from 127.0.0.1:{client_port} : coucou")
    client.sendcontrol("d")
    client.expect_exact("Bye.")
    assert "Traceback" not in finish(client)
    assert client.exitstatus == 0


def test_ii_2_client_prints_the_answer(start_server: StartServer) -> None:
    server, port = start_server("ii_2")
    client = spawn("ii_2.client", "-p", str(port))
    client.expect(r"Hello 127\.0\.0\.1:(\d+)\r\n")
    server.expect_exact(f"Message received from 127.0.0.1:{client.match.group(1)} : Hello")
    finish(client)
    assert client.exitstatus == 0


def test_refused_connection_and_bad_arguments_give_one_line() -> None:
    client = spawn("ii_6.client", "-p", "1")
    client.expect_exact("Your pseudo: ")
    client.sendline("alice")
    output = finish(client)
    assert re.search(r"Cannot connect: .*\. Is the server running\?", output)
    assert "Traceback" not in output
    assert client.exitstatus == 1

    client = spawn("ii_5.client", "-p", "eighty")
    output = finish(client)
    assert "error: argument -p/--port: not a port number: 'eighty'" in output
    assert "Traceback" not in output
    assert client.exitstatus == 2


def test_ctrl_c_at_the_pseudo_prompt_and_a_busy_port(start_server: StartServer) -> None:
    client = spawn("ii_5.client")
    client.expect_exact("Your pseudo: ")
    client.sendintr()
    client.expect_exact("Bye.")
    assert "Traceback" not in finish(client)

    _, port = start_server("ii_4")
    second = spawn("ii_4.server", "-p", str(port))
    output = finish(second)
    assert re.search(r"Error: .*address already in use", output)
    assert "Traceback" not in output
    assert second.exitstatus == 1
