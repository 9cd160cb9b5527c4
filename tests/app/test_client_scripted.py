"""``chat-client`` as a real program with piped stdin: its scripted mode, exit statuses and log."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import stat
import sys
from pathlib import Path

import pytest

from chatlib.app.protocol import Announcement, Message
from chatlib.app.server.chat_server import ChatServer
from tests.app.client_fixtures import CLOCK, TIMEOUT, start_scripted_client, without_clock
from tests.app.conftest import ClientFactory, FrameClient

# A line of client.log: the date, whose session it is (pseudo@server, the server alone before
# the pseudo is accepted), then the line as shown.
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[([^\]]+)\] (.*)")


def server_port(server: ChatServer) -> int:
    assert server.address is not None
    return server.address[1]


async def next_text(client: FrameClient) -> str:
    """The text of the next MESSAGE (as ``pseudo: text``) or ANNOUNCE a test client receives."""
    frame = await client.next_frame()
    if isinstance(frame, Message):
        return f"{frame.pseudo}: {frame.text}"
    assert isinstance(frame, Announcement), frame
    return frame.text


async def read_line(stream: asyncio.StreamReader) -> str:
    """One line of the client's output, within the timeout."""
    async with asyncio.timeout(TIMEOUT):
        return (await stream.readline()).decode("utf-8").rstrip("\n")


async def run_to_end(process: asyncio.subprocess.Process, stdin: bytes = b"") -> tuple[int, str, str]:
    """Feed stdin, close it, and wait for the program: (exit status, stdout, stderr)."""
    async with asyncio.timeout(3 * TIMEOUT):
        out, err = await process.communicate(stdin)
    assert process.returncode is not None
    return process.returncode, out.decode("utf-8"), err.decode("utf-8")


async def test_piped_lines_are_sent_and_the_client_leaves_at_the_end(
    chat_server: ChatServer, connect: ClientFactory, tmp_path: Path
) -> None:
    bob = await connect("bob", "jeux")
    process = await start_scripted_client(
        server_port(chat_server), tmp_path / "logs", tmp_path / "home", "--pseudo", "alice", "--room", "jeux"
    )
    status, out, err = await run_to_end(process, "bonjour\r\nça va ?\n\n/help\n\x1b[2J\nfin".encode())

    assert [await next_text(bob) for _ in range(6)] == [
        "Annonce : alice a rejoint la chatroom",
        "alice: bonjour",
        "alice: ça va ?",
        "alice: \x1b[2J",
        "alice: fin",
        "Annonce : alice a quitté la chatroom",
    ]
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "--- history ---" and lines[2] == "--- now ---", out
    chat_lines = lines[1:2] + lines[3:]
    assert all(re.match(CLOCK, line) for line in chat_lines), out
    assert [without_clock(line) for line in chat_lines] == [
        "Annonce : bob a rejoint la chatroom",  # the room's history, before alice came
        "Annonce : alice a rejoint la chatroom",
        "Vous avez dit : bonjour",
        "Vous avez dit : ça va ?",
        "Vous avez dit : ␛[2J",
        "Vous avez dit : fin",
    ]
    assert "\x1b" not in out + err  # no color codes on a pipe, and peers' text made harmless
    assert "* You are in room jeux. Type /help for the commands." in err.splitlines()
    assert "*   /quit        leave the chat (Ctrl+D does the same)" in err.splitlines()


async def test_arriving_messages_are_printed_and_logged(
    chat_server: ChatServer, connect: ClientFactory, tmp_path: Path
) -> None:
    bob = await connect("bob", "jeux")
    log_dir = tmp_path / "logs"
    process = await start_scripted_client(
        server_port(chat_server), log_dir, tmp_path / "home", "--pseudo", "alice", "--room", "jeux"
    )
    assert process.stdout is not None and process.stdin is not None
    assert [without_clock(await read_line(process.stdout)) for _ in range(4)] == [
        "--- history ---",
        "Annonce : bob a rejoint la chatroom",
        "--- now ---",
        "Annonce : alice a rejoint la chatroom",
    ]
    await bob.say("salut alice")
    assert without_clock(await read_line(process.stdout)) == "bob a dit : salut alice"
    process.stdin.write("salut bob\n".encode())
    assert await next_text(bob) == "Annonce : alice a rejoint la chatroom"
    assert await next_text(bob) == "alice: salut bob"
    status, out, _ = await run_to_end(process)
    assert status == 0
    assert without_clock(out) == "Vous avez dit : salut bob\n"

    logged = [LOG_LINE.fullmatch(line) for line in (log_dir / "client.log").read_text("utf-8").splitlines()]
    assert all(logged)
    conversation = [
        without_clock(match.group(2)) for match in logged if match and not match.group(2).startswith("*")
    ]
    assert conversation == [
        "--- history ---",
        "Annonce : bob a rejoint la chatroom",
        "--- now ---",
        "Annonce : alice a rejoint la chatroom",
        "bob a dit : salut alice",
        "Vous avez dit : salut bob",
    ]
    notices = [match.group(2) for match in logged if match and match.group(2).startswith("*")]
    assert notices[0] == f"* Conversation log: {log_dir / 'client.log'}"
    server = f"127.0.0.1:{server_port(chat_server)}"
    whose = [match.group(1) for match in logged if match]
    assert whose == [server] * 2 + [f"alice@{server}"] * (len(whose) - 2)  # log and connection notices


async def test_clients_of_one_user_share_the_log_each_line_saying_whose_it_is(
    chat_server: ChatServer, tmp_path: Path
) -> None:
    log_dir, home = tmp_path / "logs", tmp_path / "home"
    port = server_port(chat_server)
    alice, bob = [
        await start_scripted_client(port, log_dir, home, "--pseudo", pseudo, "--room", "jeux")
        for pseudo in ("alice", "bob")
    ]
    statuses = await asyncio.gather(run_to_end(alice, b"de la part d'alice\n"), run_to_end(bob, b"de bob\n"))
    assert [status for status, _, _ in statuses] == [0, 0]

    log_file = log_dir / "client.log"
    logged = [LOG_LINE.fullmatch(line) for line in log_file.read_text("utf-8").splitlines()]
    assert all(logged)
    own_lines = [
        (match.group(1), without_clock(match.group(2)))
        for match in logged
        if match and "Vous avez dit" in match.group(2)
    ]
    assert sorted(own_lines) == [
        (f"alice@127.0.0.1:{port}", "Vous avez dit : de la part d'alice"),
        (f"bob@127.0.0.1:{port}", "Vous avez dit : de bob"),
    ]
    if sys.platform != "win32":
        assert stat.S_IMODE(log_file.stat().st_mode) == 0o600, "private, like the token file"


async def test_server_going_away_is_reported_with_a_failure_status(
    chat_server: ChatServer, tmp_path: Path
) -> None:
    process = await start_scripted_client(
        server_port(chat_server), tmp_path / "logs", tmp_path / "home", "--pseudo", "alice", "--room", "jeux"
    )
    assert process.stdout is not None
    assert without_clock(await read_line(process.stdout)) == "Annonce : alice a rejoint la chatroom"
    await chat_server.stop()
    async with asyncio.timeout(TIMEOUT):
        out, err = await process.communicate()  # stdin still open: the client must leave on its own
    assert process.returncode == 1
    assert out == b""
    assert err.decode().splitlines()[-1] == "! The server is closing: server shutting down"


async def test_taken_pseudo_ends_with_a_clear_message(
    chat_server: ChatServer, connect: ClientFactory, tmp_path: Path
) -> None:
    await connect("bob")
    process = await start_scripted_client(
        server_port(chat_server), tmp_path / "logs", tmp_path / "home", "--pseudo", "bob", "--room", "jeux"
    )
    status, out, err = await run_to_end(process, b"hello\n")
    assert status == 1
    assert out == ""
    assert err.splitlines()[-1] == "chat-client: pseudo 'bob' refused: the pseudo bob is already in use"
    assert "Traceback" not in err


async def test_connection_refused_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    process = await start_scripted_client(
        port, tmp_path / "logs", tmp_path / "home", "--pseudo", "a", "--room", "b"
    )
    status, out, err = await run_to_end(process)
    assert status == 1
    assert out == ""
    assert err.splitlines() == [
        f"* Conversation log: {tmp_path / 'logs' / 'client.log'}",
        f"* Connecting to 127.0.0.1:{port}...",
        f"chat-client: cannot connect to 127.0.0.1:{port}: connection refused",
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--pseudo", "alice"], "chat-client: error: --room needed when input is not a terminal"),
        ([], "chat-client: error: --pseudo and --room needed when input is not a terminal"),
        (
            ["--port", "99999"],
            "chat-client: error: argument -p/--port: invalid port 99999: must be between 0 and 65535",
        ),
    ],
)
async def test_bad_usage_exits_2_with_one_line(options: list[str], message: str, tmp_path: Path) -> None:
    process = await start_scripted_client(8888, tmp_path / "logs", tmp_path / "home", *options)
    status, out, err = await run_to_end(process)
    assert status == 2
    assert out == ""
    assert err.splitlines()[-1] == message
    assert "Traceback" not in err


async def test_ctrl_c_exits_cleanly(chat_server: ChatServer, tmp_path: Path) -> None:
    process = await start_scripted_client(
        server_port(chat_server), tmp_path / "logs", tmp_path / "home", "--pseudo", "alice", "--room", "jeux"
    )
    assert process.stdout is not None
    await read_line(process.stdout)  # in the room
    process.send_signal(signal.SIGINT)
    status, _, err = await run_to_end(process)
    assert status == 130
    assert err.splitlines()[-1] == "chat-client: interrupted"
    assert "Traceback" not in err
