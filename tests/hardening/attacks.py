"""Attack commands: each attack against a real ``chat-server`` while two honest users chat, with figures.

Not tests (too long for the suite; ``test_attacks.py`` checks the same behaviours quickly): each
prints what the honest pair lived through, what the attacker achieved and what the server cost.

    python -m tests.hardening.attacks NAME [--seconds S]
    python -m tests.hardening.attacks all

The server is ``python -m chatlib.app.server`` with its default limits (flood control on), its
data in a temporary folder, on a free loopback port; the honest pair (``honest_pair.py``) runs in
a process of its own, alice and bob each saying 3 lines a second in ``general``; the attacker
runs here. Everything stays on 127.0.0.x. The attacks:

- ``jpeg-bombs``: 8 connections send legal progressive JPEGs of 4096×4096 with the most scans
  allowed (64), and ones with 30,000 scans, as fast as their rate limit lets them; then the
  server is killed (``kill -9``) and its history file compared with what the pair received;
- ``jpeg-bombs-sigterm``: the same, ended by SIGTERM: how long the server takes to exit;
- ``pong-flood``: one connection sends PONGs in a loop, reconnecting when dropped;
- ``hello-flood``: refused HELLOs in a loop on a connection, reconnecting at once when dropped;
- ``partial-images``: 200 connections (from 4 addresses) each start a 2 MiB IMAGE and stop one
  byte short: the server's memory, and how many are refused;
- ``registrations``: 50 connections register new pseudos as fast as they can;
- ``room-hopping``: 200 connections enter a new room at every step;
- ``many-users``: a server that knows 500,000 users (written to its users file beforehand) takes
  new registrations (limits raised so that they go through): how fast, and the pair's latency.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from chatlib.app.protocol import EnterRoom, Error, FrameType, Hello, Pong, SendImage, encode
from chatlib.app.server.chat_server import DEFAULT_FLUSH_INTERVAL
from chatlib.app.server.persistence import HISTORY_FILE, USERS_FILE
from chatlib.app.server.storage import read_json_lines
from tests.app.conftest import ConnectionClosed, FrameClient
from tests.hardening.jpeg_bombs import progressive_jpeg
from tests.server_process import LISTENING, START_TIMEOUT

PAIR_RATE = 3.0  # lines a second from each of the pair
CRASH_MARGIN = 0.5  # seconds on top of the flush interval for lines still on their way to the disk
MiB = 1024 * 1024
SERVER_TREE: Path | None = None  # --server-tree: run the server from another checkout, to compare
PROFILE: Path | None = None  # --profile: where py-spy writes what the server spent its time on


@dataclass
class Server:
    """A chat-server process and what was measured of it."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    peak_rss: int = 0
    peak_worker_rss: int = 0
    start_rss: int = 0
    sampling: asyncio.Task[None] | None = None

    async def sample_memory(self) -> None:
        """Keep the peak resident memory of the server and of its image worker, every 20 ms.

        The worker is looked for every half second only: finding a process's children reads the
        status of every process on the machine, a cost the attack would share the CPU with.
        """
        server = psutil.Process(self.process.pid)
        children: list[psutil.Process] = []
        with suppress(psutil.Error):
            for sample in itertools.count():
                self.peak_rss = max(self.peak_rss, server.memory_info().rss)
                if sample % 25 == 0:
                    children = server.children()
                for child in children:
                    with suppress(psutil.Error):
                        self.peak_worker_rss = max(self.peak_worker_rss, child.memory_info().rss)
                await asyncio.sleep(0.02)


def known_options(options: tuple[str, ...]) -> list[str]:
    """The ``options`` (each ``--name`` with its value, if any) that the server to run knows of: an
    earlier one (``--server-tree``) may not have them all."""
    if SERVER_TREE is None:
        return list(options)
    help_text = subprocess.run(
        [sys.executable, "-m", "chatlib.app.server", "--help"],
        capture_output=True,
        text=True,
        cwd=SERVER_TREE,
        env=os.environ | {"PYTHONPATH": str(SERVER_TREE)},
    ).stdout
    kept: list[str] = []
    for option in options:
        if option.startswith("--"):
            keep = option in help_text
        if keep:
            kept.append(option)
    return kept


@asynccontextmanager
async def chat_server(folder: Path, *options: str) -> AsyncIterator[Server]:
    """``chat-server`` with its default limits (but ``options``) on a free loopback port."""
    console = folder / "console.txt"
    command = [sys.executable, "-m", "chatlib.app.server", "--port", "0"]
    command += [
        "--data-dir",
        str(folder / "data"),
        "--log-dir",
        str(folder / "logs"),
        *known_options(options),
    ]
    env = os.environ | {"XDG_CONFIG_HOME": str(folder / "no-config")}
    if os.environ.get("ATTACK_DEBUG"):
        env["PYTHONASYNCIODEBUG"] = "1"
    if SERVER_TREE is not None:
        env["PYTHONPATH"] = str(SERVER_TREE)
    with console.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=output, env=env, cwd=SERVER_TREE)
    profiler: subprocess.Popen[bytes] | None = None
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not (found := LISTENING.search(console.read_text(errors="replace"))):
                if process.poll() is not None:
                    raise RuntimeError(console.read_text(errors="replace"))
                await asyncio.sleep(0.05)  # waiting for a process to start: nothing to await instead
        server = Server(process, int(found.group(1)), folder / "data")
        server.start_rss = psutil.Process(process.pid).memory_info().rss
        server.sampling = asyncio.create_task(server.sample_memory())
        profiler = None if PROFILE is None else start_profiler(process.pid, PROFILE)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if profiler is not None:
            profiler.wait(timeout=30)  # py-spy writes its file once the server is gone


def start_profiler(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling the server 1000 times a second without pausing it, until it exits.

    The file's format follows its name: ``.svg`` a flame graph, ``.json`` speedscope (samples in
    time order), anything else py-spy's collapsed stacks (one line per stack, with its count).
    """
    formats = {".svg": "flamegraph", ".json": "speedscope"}
    file_format = formats.get(output.suffix, "raw")
    py_spy = Path(sys.executable).with_name("py-spy")  # requirements.txt installs it in the venv
    command = [str(py_spy), "record", "--rate", "1000", "--nonblocking", "--pid", str(pid)]
    command += ["--format", file_format, "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


@asynccontextmanager
async def honest_pair(port: int, seconds: float) -> AsyncIterator[dict[str, object]]:
    """The pair chatting in its own process for ``seconds``; its report fills the dict at the end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.hardening.honest_pair",
        str(port),
        str(seconds),
        str(PAIR_RATE),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    async with asyncio.timeout(START_TIMEOUT):
        assert (await process.stdout.readline()).strip() == b"ready"
    report: dict[str, object] = {}
    try:
        yield report
        async with asyncio.timeout(seconds + 30):
            line = await process.stdout.readline()
        report.update(json.loads(line))
    finally:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.kill()
        await process.wait()


async def attacker(port: int, local_ip: str = "127.0.0.1") -> FrameClient:
    """A raw connection from ``local_ip`` (any 127.x.y.z is loopback)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(local_ip, 0))
    return FrameClient(reader, writer)


async def joined(port: int, pseudo: str, room: str, local_ip: str = "127.0.0.1") -> FrameClient:
    """An attacking connection with an accepted pseudo, in ``room``."""
    client = await attacker(port, local_ip)
    await client.hello(pseudo)
    await client.enter(room)
    return client


async def read_until_closed(client: FrameClient, errors: list[Error]) -> None:
    """Read (and forget) what the server sends, keeping its ERRORs, until it closes."""
    with suppress(ConnectionClosed, ConnectionError, TimeoutError):
        while True:
            frame = await client.next_frame(timeout=3600)
            if isinstance(frame, Error):
                errors.append(frame)


async def send_until(client: FrameClient, data: bytes, deadline: float, closed: asyncio.Task[None]) -> int:
    """Write ``data`` again and again (waiting while the server does not read) until ``deadline`` or
    until the server closes the connection; return how many times it was written."""
    times = 0
    with suppress(ConnectionError, TimeoutError):
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
            while not closed.done():
                client.writer.write(data)
                await client.writer.drain()
                times += 1
    return times


def error_summary(errors: list[Error]) -> str:
    """How many ERRORs of each code, and one text of each."""
    texts: dict[str, tuple[int, str]] = {}
    for error in errors:
        count, _ = texts.get(error.code.name, (0, ""))
        texts[error.code.name] = (count + 1, error.text)
    return "; ".join(f'{count} x {name} "{text}"' for name, (count, text) in texts.items()) or "none"


@dataclass
class Outcome:
    """What an attack reports beside the pair's figures."""

    lines: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)


# --- The attacks --------------------------------------------------------------------------------


async def jpeg_bombs(server: Server, seconds: float, outcome: Outcome) -> None:
    """8 connections send the costliest legal JPEGs, and 30,000-scan ones, at their rate limit."""
    legal, huge = progressive_jpeg(4096, 64 - 10), progressive_jpeg(4096, 30_000)
    errors: list[Error] = []
    sent = 0

    async def bomb(number: int) -> None:
        nonlocal sent
        client = await joined(server.port, f"bomber{number}", "bombs")
        reading = asyncio.create_task(read_until_closed(client, errors))
        deadline = time.monotonic() + seconds
        with suppress(ConnectionError, TimeoutError):
            while time.monotonic() < deadline:
                await client.send(SendImage(legal if sent % 2 else huge))
                sent += 1
        await client.close()
        reading.cancel()

    await asyncio.gather(*(bomb(number) for number in range(8)))
    outcome.say(f"images sent: {sent} ({len(legal)} and {len(huge)} bytes); errors: {error_summary(errors)}")


async def pong_flood(server: Server, seconds: float, outcome: Outcome) -> None:
    """PONGs in a loop on one connection, reconnecting when dropped."""
    pongs = encode(Pong()) * 20_000
    errors: list[Error] = []
    sent = connections = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connections += 1
        try:
            client = await joined(server.port, f"ponger{connections}", "general")
        except (ConnectionError, AssertionError, ConnectionClosed):
            await asyncio.sleep(0.05)  # refused: connections are limited per address
            continue
        reading = asyncio.create_task(read_until_closed(client, errors))
        sent += 20_000 * await send_until(client, pongs, deadline, reading)
        await asyncio.wait({reading}, timeout=2)
        await client.close()
    outcome.say(f"PONGs written: {sent:,} on {connections} connections; errors: {error_summary(errors)}")


async def hello_flood(server: Server, seconds: float, outcome: Outcome) -> None:
    """HELLOs refused (the pseudo is taken) in a loop, reconnecting at once when dropped."""
    hellos = encode(Hello("alice", "")) * 1000  # alice is connected: "already in use"
    errors: list[Error] = []
    sent = connections = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connections += 1
        try:
            client = await attacker(server.port)
        except ConnectionError:
            continue
        reading = asyncio.create_task(read_until_closed(client, errors))
        sent += 1000 * await send_until(client, hellos, deadline, reading)
        await asyncio.wait({reading}, timeout=2)
        await client.close()
    outcome.say(
        f"HELLOs written: {sent:,} on {connections:,} connections; "
        f"errors (the first of each connection's): {error_summary(errors)}"
    )


async def partial_images(server: Server, seconds: float, outcome: Outcome) -> None:
    """200 connections each send all of a 2 MiB IMAGE but its last byte, and wait."""
    size = 2 * MiB
    all_but_the_last_byte = bytes((FrameType.IMAGE, 4)) + size.to_bytes(4, "big") + b"\xff" * (size - 1)
    errors: list[Error] = []
    holders: list[FrameClient] = []
    rss_before = psutil.Process(server.process.pid).memory_info().rss

    async def hold(number: int) -> None:
        client = await joined(server.port, f"holder{number}", "holders", f"127.0.0.{2 + number % 4}")
        holders.append(client)
        reading = asyncio.create_task(read_until_closed(client, errors))
        with suppress(ConnectionError, TimeoutError):
            await client.send_raw(all_but_the_last_byte)
        await asyncio.sleep(seconds)
        reading.cancel()

    await asyncio.gather(*(hold(number) for number in range(200)))
    rss_after = psutil.Process(server.process.pid).memory_info().rss
    outcome.say(
        f"server RSS {rss_before / MiB:.0f} MiB before, {rss_after / MiB:.0f} MiB with the frames held, "
        f"peak {server.peak_rss / MiB:.0f} MiB; errors: {error_summary(errors)}"
    )
    for client in holders:
        await client.close()


async def registrations(server: Server, seconds: float, outcome: Outcome) -> None:
    """50 connections at a time register new pseudos as fast as they can."""
    errors: list[Error] = []
    registered = attempts = 0
    deadline = time.monotonic() + seconds

    async def register(worker: int) -> None:
        nonlocal registered, attempts
        number = 0
        while time.monotonic() < deadline:
            attempts += 1
            number += 1
            with suppress(ConnectionError, TimeoutError):
                client = await attacker(server.port)
                await client.send(Hello(f"user{worker}x{number}", ""))
                frame = await client.next_frame()
                if isinstance(frame, Error):
                    errors.append(frame)
                    await asyncio.sleep(0.1)
                else:
                    registered += 1
                await client.close()

    await asyncio.gather(*(register(worker) for worker in range(50)))
    users = server.data_dir / USERS_FILE
    outcome.say(
        f"attempts: {attempts:,}, registered: {registered:,} (users file {users.stat().st_size:,} bytes "
        f"after the next flush); errors: {error_summary(errors)}"
    )


async def room_hopping(server: Server, seconds: float, outcome: Outcome) -> None:
    """200 connections (from 4 addresses) enter a new room at every step."""
    errors: list[Error] = []
    entered = 0
    deadline = time.monotonic() + seconds

    async def hop(number: int) -> None:
        nonlocal entered
        client = await joined(server.port, f"hopper{number}", f"room {number} 0", f"127.0.0.{2 + number % 4}")
        reading = asyncio.create_task(read_until_closed(client, errors))
        step = 0
        with suppress(ConnectionError, TimeoutError):
            while time.monotonic() < deadline and not reading.done():
                step += 1
                await client.send(EnterRoom(f"room {number} {step}"))
                entered += 1
                await asyncio.sleep(0.01)
        reading.cancel()
        await client.close()

    await asyncio.gather(*(hop(number) for number in range(200)))
    newcomer = await attacker(server.port, "127.0.0.9")
    await newcomer.hello("newcomer")
    assert newcomer.rooms is not None
    outcome.say(
        f"room changes sent: {entered:,}; rooms listed to a newcomer after: {len(newcomer.rooms.rooms)}; "
        f"errors: {error_summary(errors)}"
    )


async def many_users_registering(server: Server, seconds: float, outcome: Outcome) -> None:
    """New users registering, one after the other on 20 connections, against 500,000 known users."""
    registered = 0
    deadline = time.monotonic() + seconds

    async def register(worker: int) -> None:
        nonlocal registered
        number = 0
        while time.monotonic() < deadline:
            number += 1
            client = await attacker(server.port, f"127.0.1.{worker}")
            await client.hello(f"newcomer{worker}x{number}")
            registered += 1
            await client.close()

    started = time.monotonic()
    await asyncio.gather(*(register(worker) for worker in range(1, 21)))
    outcome.say(
        f"registrations: {registered:,} in {time.monotonic() - started:.1f} s "
        f"({registered / (time.monotonic() - started):,.0f}/s) with 500,000 users known; "
        f"server RSS at start {server.start_rss / MiB:.0f} MiB"
    )


def write_known_users(data_dir: Path, count: int) -> None:
    """A users file of ``count`` users, written directly (as a server that registered them would)."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (data_dir / USERS_FILE).open("w") as file:
        for number in range(count):
            record = {
                "user_id": f"{number:016x}",
                "pseudo": f"known{number}",
                "color": "#d62728",
                "token_sha256": "0" * 64,
                "first_seen_ms": 0,
            }
            file.write(json.dumps(record) + "\n")


# --- Running them -------------------------------------------------------------------------------

Attack = Callable[[Server, float, Outcome], Awaitable[None]]
ATTACKS: dict[str, tuple[Attack, tuple[str, ...]]] = {
    "jpeg-bombs": (jpeg_bombs, ()),
    "jpeg-bombs-sigterm": (jpeg_bombs, ()),
    "pong-flood": (pong_flood, ()),
    "hello-flood": (hello_flood, ()),
    "partial-images": (partial_images, ()),
    "registrations": (registrations, ()),
    "room-hopping": (room_hopping, ()),
    "many-users": (many_users_registering, ("--no-rate-limit", "--max-users", "10000000")),
}


async def run(name: str, seconds: float) -> None:
    """Run one attack while the pair chats for ``seconds``; print the figures.

    The jpeg-bombs attacks go on after the pair is done, and the server is killed (or sent
    SIGTERM) in the middle of them.
    """
    attack, options = ATTACKS[name]
    ends_the_server = name.startswith("jpeg-bombs")
    with tempfile.TemporaryDirectory(prefix="attack-") as folder_name:
        folder = Path(folder_name)
        if name == "many-users":
            write_known_users(folder / "data", 500_000)
        outcome = Outcome()
        async with chat_server(folder, *options) as server:
            if os.environ.get("ATTACK_DEBUG"):
                print("console:", folder / "console.txt")
            async with honest_pair(server.port, seconds) as pair:
                attacking = asyncio.create_task(
                    attack(server, seconds + 30 if ends_the_server else seconds, outcome)
                )
            if name == "jpeg-bombs":
                killed_at = time.time()
                server.process.kill()
                await asyncio.to_thread(server.process.wait, 10)
                outcome.say(kill_report(server.data_dir, pair, killed_at))
            elif name == "jpeg-bombs-sigterm":
                asked_at = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
                await asyncio.to_thread(server.process.wait, 60)
                outcome.say(
                    f"SIGTERM under the attack: exited in {time.monotonic() - asked_at:.2f} s, "
                    f"status {server.process.returncode}; {sigterm_report(server.data_dir, pair)}"
                )
            async with asyncio.timeout(60):
                await attacking
            peak, worker = server.peak_rss, server.peak_worker_rss
        print(f"== {name} ({seconds:g} s)")
        for line in outcome.lines:
            print("  " + line)
        print(f"  server peak RSS {peak / MiB:.0f} MiB (image worker: {worker / MiB:.0f} MiB)")
        print(
            f"  honest pair: {pair.get('received')} of {pair.get('sent')} lines received "
            f"({pair.get('lost')} lost, {pair.get('out_of_order')} out of order); latency p50 "
            f"{pair.get('p50_ms')} ms, p99 {pair.get('p99_ms')} ms, max {pair.get('max_ms')} ms"
        )
        slowest = ", ".join(
            f"{latency:.0f} ms at {when:.1f} s" for when, latency in pair.get("slowest") or []
        )
        print(f"  the pair's slowest lines: {slowest} (seconds since the pair started)")


def sigterm_report(data_dir: Path, pair: dict[str, object]) -> str:
    """How many of the lines the pair received are missing from the history file (none should be)."""
    saved = {record.get("text") for record in read_json_lines(data_dir / HISTORY_FILE)}
    received_at = pair.get("received_at") or {}
    assert isinstance(received_at, dict)
    missing = [text for text in received_at if text not in saved]
    return f"of the pair's {len(received_at)} lines, {len(missing)} missing from {HISTORY_FILE}"


def kill_report(data_dir: Path, pair: dict[str, object], killed_at: float) -> str:
    """How many lines the pair received well before the kill are missing from the history file."""
    saved = {record.get("text") for record in read_json_lines(data_dir / HISTORY_FILE)}
    received_at = pair.get("received_at") or {}
    assert isinstance(received_at, dict)
    old_enough = [
        text for text, when in received_at.items() if when < killed_at - DEFAULT_FLUSH_INTERVAL - CRASH_MARGIN
    ]
    missing = [text for text in old_enough if text not in saved]
    margin = DEFAULT_FLUSH_INTERVAL + CRASH_MARGIN
    return (
        f"kill -9: of the {len(old_enough)} lines received more than {margin:g} s before it, "
        f"{len(missing)} missing from {HISTORY_FILE}"
    )


def main() -> None:
    """The command line: an attack's name (or ``all``) and how long it lasts."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.hardening.attacks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("name", choices=[*ATTACKS, "all"])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each attack lasts (default 10)")
    parser.add_argument(
        "--server-tree",
        type=Path,
        metavar="DIR",
        help="run the server from this checkout (a git worktree of an earlier commit, to compare)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="profile the server with py-spy (1000 samples a second) into FILE: .svg, .json (speedscope) "
        "or collapsed stacks",
    )
    options = parser.parse_args()
    global SERVER_TREE, PROFILE
    SERVER_TREE, PROFILE = options.server_tree, options.profile
    for name in ATTACKS if options.name == "all" else [options.name]:
        asyncio.run(run(name, options.seconds))


if __name__ == "__main__":
    main()
