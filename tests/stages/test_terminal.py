"""The stages' command-line tools in real pseudo-terminals, as a student runs them.

What the clients show is read through a terminal emulator (`tests.terminal_screen`): the rows a
person would see, after every cursor move and redraw.
"""

from __future__ import annotations

import io
import re
import socket
import sys
from collections.abc import Callable, Iterator

import pexpect
import pytest

from tests.terminal_screen import Terminal

pytestmark = pytest.mark.pty

TIMEOUT = 10
PSEUDO_STAGES = ("ii_5", "ii_6")
SERVER_STOPPING = "Annonce : le serveur s'arr\u00eate"


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
OpenTerminal = Callable[..., Terminal]


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


@pytest.fixture
def terminal() -> Iterator[OpenTerminal]:
    """Open programs in terminals read through an emulator; any still running at the end is killed."""
    terminals: list[Terminal] = []

    def open_terminal(*args: str) -> Terminal:
        opened = Terminal.spawn(sys.executable, list(args))
        terminals.append(opened)
        return opened

    yield open_terminal
    for opened in terminals:
        opened.close()


def client_in_terminal(terminal: OpenTerminal, stage: str, port: int) -> Terminal:
    """A stage's client in a terminal, connecting to 127.0.0.1:port."""
    return terminal("-m", f"chatlib.stages.{stage}.client", "-p", str(port))


def join(terminal: OpenTerminal, port: int, pseudo: str) -> Terminal:
    """Start the ii_6 client in a terminal and give it a pseudo."""
    client = client_in_terminal(terminal, "ii_6", port)
    client.wait_for_row("Your pseudo:")
    client.type(f"{pseudo}\r")
    client.wait_for_row(f"Annonce : {pseudo} a rejoint la chatroom")
    return client


class ScriptedServer:
    """A server driven by the test through one plain socket: it says what the test wants, when it wants."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port: int = self.listener.getsockname()[1]
        self.connection: socket.socket | None = None

    def accept(self) -> None:
        """Wait for the client to connect."""
        self.connection, _ = self.listener.accept()
        self.connection.settimeout(TIMEOUT)

    def say(self, line: str) -> None:
        """Send one line, as the stage servers do."""
        assert self.connection is not None
        self.connection.sendall(f"{line}\n".encode())

    def receive(self, size: int) -> bytes:
        """Exactly the next `size` bytes the client sends (the stage clients send no terminator)."""
        assert self.connection is not None
        data = b""
        while len(data) < size:
            chunk = self.connection.recv(size - len(data))
            assert chunk, f"the client hung up after sending {data!r}"
            data += chunk
        return data

    def close(self) -> None:
        """Hang up and stop listening."""
        if self.connection is not None:
            self.connection.close()
        self.listener.close()


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


def greet(client: Terminal, server: ScriptedServer, stage: str) -> str:
    """Answer the pseudo question (ii_5+), take the greeting, and send a first line at once; return it."""
    if stage in PSEUDO_STAGES:
        client.wait_for_row("Your pseudo:")
        client.type("alice\r")
    server.accept()
    if stage in PSEUDO_STAGES:
        first_line = "Annonce : alice a rejoint la chatroom"
    else:
        first_line = "Hello 127.0.0.1:40000"
    # Sent at once, before the client had time to draw its prompt (a race that once doubled the prompt).
    server.say(first_line)
    greeting = b"Hello|alice" if stage in PSEUDO_STAGES else b"Hello"
    assert server.receive(len(greeting)) == greeting
    return first_line


@pytest.mark.parametrize("stage", ["ii_3", "ii_4", "ii_5", "ii_6"])
def test_a_message_prints_above_the_line_being_typed_which_stays_intact(
    stage: str, terminal: OpenTerminal, scripted_server: ScriptedServer
) -> None:
    client = client_in_terminal(terminal, stage, scripted_server.port)
    first_line = greet(client, scripted_server, stage)
    greeting_row = client.wait_for_row(first_line)
    client.wait_for_cursor_row("> ")
    assert client.rows()[greeting_row + 1] == ">"  # one prompt, not "> > "
    assert not any(row.startswith("> >") for row in client.rows())

    client.type("je tape un")
    client.wait_for_cursor_row("> je tape un")
    scripted_server.say("bob a dit : via nc")
    message_row = client.wait_for_row("bob a dit : via nc")
    client.wait_for_cursor_row("> je tape un")
    assert client.screen.cursor.y == message_row + 1  # the message above, the line being typed below it
    assert client.rows()[: message_row + 2] == [
        *client.rows()[:greeting_row],
        first_line,
        "bob a dit : via nc",
        "> je tape un",
    ]

    client.type(" mot\r")
    assert scripted_server.receive(len(b"je tape un mot")) == b"je tape un mot"
    client.wait_for_row("> je tape un mot")
    client.wait_for_cursor_row("> ")
    client.type("\x04")  # Ctrl+D
    client.wait_for_row("Bye.")
    assert client.wait_for_exit() == 0


def test_ii_6_client_leaves_nothing_typed_for_the_shell(
    terminal: OpenTerminal, scripted_server: ScriptedServer
) -> None:
    # A shell stand-in: runs the client, then reads the next line typed, as the shell would.
    shell = terminal(
        "-c",
        "import subprocess, sys, termios\n"
        "found = termios.tcgetattr(0)\n"
        "subprocess.run([sys.executable, '-m', 'chatlib.stages.ii_6.client', '-p', sys.argv[1]])\n"
        "print('terminal as found:', termios.tcgetattr(0) == found)\n"
        "print('$ ', end='', flush=True)\n"
        "print('the shell read', repr(input()))\n",
        str(scripted_server.port),
    )
    greet(shell, scripted_server, "ii_6")
    shell.type("echo LEAKED")
    shell.wait_for_cursor_row("> echo LEAKED")
    scripted_server.close()  # the server goes away
    shell.wait_for_row("Connection lost: the server has closed the connection")
    shell.wait_for_row("terminal as found: True")
    shell.wait_for_cursor_row("$ ")
    shell.type("\r")
    shell.wait_for_row("the shell read ''")
    assert shell.wait_for_exit() == 0


def test_ii_6_chat_between_two_terminals(start_server: StartServer, terminal: OpenTerminal) -> None:
    server, port = start_server("ii_6")
    alice = join(terminal, port, "alice")
    bob = join(terminal, port, "bob")
    alice.wait_for_row("Annonce : bob a rejoint la chatroom")

    alice.type("bonjour bob\r")
    bob.wait_for_row("alice a dit : bonjour bob")
    server.expect_exact(" : bonjour bob")
    bob.type("salut alice\r")
    alice.wait_for_row("bob a dit : salut alice")
    alice.wait_for_cursor_row("> ")

    bob.type("\x03")  # Ctrl+C
    bob.wait_for_row("Bye.")
    assert bob.wait_for_exit() == 0
    assert "Traceback" not in bob.output.decode()
    alice.wait_for_row("Annonce : bob a quitt\u00e9 la chatroom")

    server.sendintr()
    server.expect_exact("Bye.")
    assert "Traceback" not in finish(server)
    alice.wait_for_row(SERVER_STOPPING)
    alice.wait_for_row("Connection lost: the server has closed the connection")
    assert alice.wait_for_exit() == 1
    assert sum("a quitt\u00e9 la chatroom" in row for row in alice.rows()) == 1  # bob's real departure only
    assert "Traceback" not in alice.output.decode()


def test_ii_3_client_and_server_in_terminals(start_server: StartServer, terminal: OpenTerminal) -> None:
    server, port = start_server("ii_3")
    client = client_in_terminal(terminal, "ii_3", port)
    client.wait_until(lambda screen: screen.rows()[0].startswith("Hello 127.0.0.1:"), "the Hello answer")
    client_port = re.fullmatch(r"Hello 127\.0\.0\.1:(\d+)", client.rows()[0]).group(1)
    client.type("coucou\r")
    server.expect_exact(f"Message received from 127.0.0.1:{client_port} : coucou")
    client.type("\x04")  # Ctrl+D
    client.wait_for_row("Bye.")
    assert client.wait_for_exit() == 0
    assert "Traceback" not in client.output.decode()


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
