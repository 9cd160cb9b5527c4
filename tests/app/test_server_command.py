"""The ``chat-server`` command as a real subprocess: starts, says where it listens and logs, stops cleanly."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from chatlib.app.protocol import Announcement, Closing, Message, Say
from chatlib.app.server.persistence import HISTORY_FILE, USERS_FILE
from tests.app.conftest import TIMEOUT, FrameClient

CHAT_SERVER = Path(sys.executable).parent / "chat-server"


def isolated_env(home: Path) -> dict[str, str]:
    """The environment with HOME and XDG folders in the test's tmp dir (no user config or logs)."""
    return os.environ | {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_DATA_HOME": str(home / "data"),
        "PYTHONUNBUFFERED": "1",
    }


class ServerProcess:
    """A chat-server subprocess whose console output is read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    async def wait_for_line(self, pattern: str) -> re.Match[str]:
        """Read console lines until one matches ``pattern``."""
        assert self.process.stdout is not None
        async with asyncio.timeout(TIMEOUT):
            while True:
                raw = await self.process.stdout.readline()
                if not raw:
                    pytest.fail(f"chat-server ended before printing {pattern!r}: {self.lines}")
                line = raw.decode().rstrip("\n")
                self.lines.append(line)
                if match := re.search(pattern, line):
                    return match

    async def finish(self) -> tuple[int, str]:
        """Wait for the process to exit; its exit status and the rest of its output."""
        async with asyncio.timeout(TIMEOUT):
            rest, _ = await self.process.communicate()
        return self.process.returncode or 0, rest.decode()


ServerStarter = Callable[..., Awaitable[ServerProcess]]


@pytest.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[ServerStarter]:
    """Start ``chat-server ARGS`` in tmp_path (console: stdout and stderr together); kill leftovers."""
    processes: list[asyncio.subprocess.Process] = []

    async def start(*args: str) -> ServerProcess:
        process = await asyncio.create_subprocess_exec(
            str(CHAT_SERVER),
            *args,
            cwd=tmp_path,
            env=isolated_env(tmp_path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        processes.append(process)
        return ServerProcess(process)

    yield start
    for process in processes:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def bob_joins_alice(alice: FrameClient, port: int) -> FrameClient:
    """Greet ``alice`` (connected) into room jeux, then a new client bob; return bob once alice heard him."""
    await alice.hello("alice")
    await alice.enter("jeux")
    bob = await FrameClient.connect("127.0.0.1", port)
    await bob.hello("bob")
    await bob.enter("jeux")
    await alice.next_frame()  # bob's arrival
    return bob


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_the_command_serves_and_stops_cleanly_on_a_signal(
    start_server: ServerStarter, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    log_dir = tmp_path / "logs"
    server = await start_server("-a", "127.0.0.1", "-p", "0", "--log-dir", str(log_dir), "-v")
    await server.wait_for_line(re.escape(f"conversation log: {log_dir / 'server.log'}"))
    port = int((await server.wait_for_line(r"chat server listening on 127\.0\.0\.1:(\d+)")).group(1))
    alice = await FrameClient.connect("127.0.0.1", port)
    bob = await bob_joins_alice(alice, port)
    await bob.send(Say("hello from bob"))
    message = await alice.next_frame()
    assert isinstance(message, Message) and message.text == "hello from bob"
    await server.wait_for_line(r"DEBUG message sent to alice")

    server.process.send_signal(stop_signal)
    for client in (alice, bob):
        assert await client.expect_closed() == [Closing("server shutting down")]
        await client.close()
    status, rest = await server.finish()
    assert status == 0, rest
    assert "server stopped: server shutting down" in rest
    assert "Traceback" not in "\n".join(server.lines) + rest
    conversation = (log_dir / "server.log").read_text(encoding="utf-8")
    assert "[jeux] bob a dit : hello from bob" in conversation
    assert re.search(r"alice departed \(127\.0\.0\.1:\d+\), connected for", conversation)


async def test_the_module_runs_as_python_m_with_a_config_file(tmp_path: Path) -> None:
    (tmp_path / "chat.env").write_text(f"HOST=127.0.0.1\nPORT=0\nLOG_DIR={tmp_path / 'from-env'}\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatlib.app.server",
        cwd=tmp_path,
        env=isolated_env(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    server = ServerProcess(process)
    try:
        await server.wait_for_line(r"chat server listening on 127\.0\.0\.1:\d+")
        assert any(str(tmp_path / "from-env" / "server.log") in line for line in server.lines)
        process.send_signal(signal.SIGTERM)
        status, _ = await server.finish()
        assert status == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_bad_port_is_a_one_line_error(start_server: ServerStarter) -> None:
    server = await start_server("-p", "99999")
    status, output = await server.finish()
    assert status == 2
    assert "error: argument -p/--port: invalid port 99999: must be between 0 and 65535" in output
    assert "Traceback" not in output


async def test_a_port_in_use_is_a_one_line_error(start_server: ServerStarter, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = await start_server("-p", str(port), "--log-dir", str(tmp_path / "logs"))
        status, output = await server.finish()
    assert status == 1
    last_line = output.strip().splitlines()[-1]
    assert last_line.startswith(f"chat-server: cannot listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in output


async def test_known_users_and_history_survive_a_restart_of_the_command(
    start_server: ServerStarter, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data" / "chat_room"
    options = ("-p", "0", "--log-dir", str(tmp_path / "logs"))
    server = await start_server(*options)
    await server.wait_for_line(re.escape(f"history and known users: {data_dir}"))
    port = int((await server.wait_for_line(r"listening on 127\.0\.0\.1:(\d+)")).group(1))
    alice = await FrameClient.connect("127.0.0.1", port)
    first = await alice.hello("alice")
    await alice.enter("jeux")
    await alice.say("avant le redémarrage")
    await alice.sync()
    server.process.send_signal(signal.SIGTERM)
    assert await alice.expect_closed() == [Closing("server shutting down")]
    await alice.close()
    assert (await server.finish())[0] == 0
    assert (data_dir / USERS_FILE).exists() and (data_dir / HISTORY_FILE).exists()

    restarted = await start_server(*options)
    port = int((await restarted.wait_for_line(r"listening on 127\.0\.0\.1:(\d+)")).group(1))
    assert any("1 known users and 3 history entries loaded" in line for line in restarted.lines)
    bob = await FrameClient.connect("127.0.0.1", port)
    await bob.hello("bob")
    await bob.enter("jeux")
    assert bob.history is not None
    assert [entry.text for entry in bob.history.entries] == [
        "Annonce : alice a rejoint la chatroom",
        "avant le redémarrage",
        "Annonce : alice a quitté la chatroom",
    ]
    again = await FrameClient.connect("127.0.0.1", port)
    welcome = await again.hello("alice", first.token)
    assert (welcome.returning, welcome.user_id, welcome.color) == (True, first.user_id, first.color)
    await again.enter_quietly("jeux")
    back = await bob.next_frame()
    assert isinstance(back, Announcement) and back.text == "alice est de retour !"
    restarted.process.send_signal(signal.SIGTERM)
    for client in (bob, again):
        assert await client.expect_closed() == [Closing("server shutting down")]
        await client.close()
    status, rest = await restarted.finish()
    assert status == 0 and "Traceback" not in "\n".join(restarted.lines) + rest
    assert first.token not in (tmp_path / "logs" / "server.log").read_text(encoding="utf-8") + rest


async def connect_when_listening(port: int) -> FrameClient:
    """Connect to a server that prints nothing when it is ready (--quiet): retry until it accepts."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            try:
                return await FrameClient.connect("127.0.0.1", port)
            except ConnectionRefusedError:
                await asyncio.sleep(0.05)  # the server process is still starting


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
async def test_the_event_loop_can_be_uvloop(start_server: ServerStarter, tmp_path: Path, loop: str) -> None:
    server = await start_server("-p", "0", "--log-dir", str(tmp_path / "logs"), "--loop", loop)
    match = await server.wait_for_line(r"chat server listening on 127\.0\.0\.1:(\d+), (\w+) event loop")
    assert match.group(2) == loop
    alice = await FrameClient.connect("127.0.0.1", int(match.group(1)))
    await alice.hello("alice")
    await alice.enter("jeux")
    await alice.close()
    server.process.send_signal(signal.SIGTERM)
    status, rest = await server.finish()
    assert status == 0, rest


async def test_quiet_keeps_the_console_to_warnings_but_the_log_file_whole(
    start_server: ServerStarter, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_dir = tmp_path / "logs"
    server = await start_server("-p", str(port), "--log-dir", str(log_dir), "--quiet", "--no-rate-limit")
    alice = await connect_when_listening(port)
    bob = await bob_joins_alice(alice, port)
    for number in range(20):  # over the default rate limit's burst: --no-rate-limit lets them all through
        await bob.send(Say(f"message {number}"))
    texts = [
        frame.text for frame in [await alice.next_frame() for _ in range(20)] if isinstance(frame, Message)
    ]
    assert texts == [f"message {number}" for number in range(20)]
    for client in (alice, bob):
        await client.close()
    server.process.send_signal(signal.SIGTERM)
    status, rest = await server.finish()
    assert status == 0, rest
    assert rest == "", "nothing went wrong, so a quiet console says nothing"
    conversation = (log_dir / "server.log").read_text(encoding="utf-8")
    assert [line.split(" : ", 1)[1] for line in conversation.splitlines() if "[jeux] bob a dit" in line] == [
        f"message {number}" for number in range(20)
    ]


async def test_quiet_and_verbose_cannot_go_together(start_server: ServerStarter) -> None:
    server = await start_server("--quiet", "--verbose")
    status, rest = await server.finish()
    assert status == 2
    assert rest.splitlines()[-1] == "chat-server: error: --quiet and --verbose cannot go together"


async def test_verbose_adds_the_chats_own_detail_only(start_server: ServerStarter, tmp_path: Path) -> None:
    server = await start_server("-p", "0", "--log-dir", str(tmp_path / "logs"), "-v")
    port = int((await server.wait_for_line(r"chat server listening on 127\.0\.0\.1:(\d+)")).group(1))
    alice = await FrameClient.connect("127.0.0.1", port)
    bob = await bob_joins_alice(alice, port)
    await bob.say("détail")
    await alice.next_frame()
    await server.wait_for_line(r"DEBUG message sent to alice")
    server.process.send_signal(signal.SIGTERM)
    _, rest = await server.finish()
    debug_lines = [line for line in [*server.lines, *rest.splitlines()] if " DEBUG " in line]
    assert debug_lines and all(" DEBUG message sent to " in line for line in debug_lines), debug_lines
