"""The server under test: started in its own process by the bench, or found already running.

The bench runs the real ``chat-server`` command (``python -m chatlib.app.server``) on a free
loopback port with ``--quiet`` (no console line per message: the conversation log file is still
written, in a temporary folder, with the history and known users) and ``--no-rate-limit`` (the
benchmark measures the server with its rates off: messages and frames per client, connections
and new pseudos per address; every other limit stays on).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SERVER_MODULE = "chatlib.app.server"
REFERENCE_MODULE = "chatlib.bench.reference"
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 5.0
MEMORY_SAMPLE_SECONDS = 0.01


class ServerProblem(Exception):
    """The server could not be started or reached; the message says why, in one line."""


@dataclass
class ServerHandle:
    """Where the server listens, its process if known, and how it was set up for the run."""

    host: str
    port: int
    pid: int | None
    started_by_bench: bool
    rate_limiting: str
    loop: str
    console_log: str
    process: subprocess.Popen[bytes] | None = None
    work_dir: tempfile.TemporaryDirectory[str] | None = None
    command: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, object]:
        """The facts about the server that go into the report."""
        return {
            "started_by_bench": self.started_by_bench,
            "address": f"{self.host}:{self.port}",
            "pid": self.pid,
            "rate_limiting": self.rate_limiting,
            "loop": self.loop,
            "console_log": self.console_log,
            "command": " ".join(self.command) if self.command else None,
        }


def free_port(host: str) -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def py_spy_command() -> str | None:
    """The py-spy profiler's executable: next to this Python's, or on the PATH."""
    beside_python = Path(sys.executable).with_name("py-spy")
    return str(beside_python) if beside_python.exists() else shutil.which("py-spy")


def start_server(
    loop: str | None,
    host: str = "127.0.0.1",
    profile: Path | None = None,
    extra: tuple[str, ...] = (),
    reference: bool = False,
) -> ServerHandle:
    """Start the finished server in its own process and wait until it accepts connections.

    With ``profile``, the server runs under ``py-spy record`` (raw collapsed stacks, 1000 Hz),
    which writes that file when the server stops. With ``reference``, the process is the
    reference relay (``reference.py``) instead of the chat server.
    """
    work_dir = tempfile.TemporaryDirectory(prefix="chat-bench-")
    port = free_port(host)
    module = REFERENCE_MODULE if reference else SERVER_MODULE
    arguments = ["-a", host, "-p", str(port)]
    if not reference:
        empty_config = Path(work_dir.name) / "bench.env"  # so that no chat.env of the user's applies
        empty_config.write_text("", encoding="utf-8")
        arguments += ["--config", str(empty_config), "--log-dir", work_dir.name, "--data-dir", work_dir.name]
        arguments += ["--quiet", "--no-rate-limit"]
    if loop is not None:
        arguments += ["--loop", loop]
    arguments += extra  # e.g. --cluster URL (cluster.py)
    command = [sys.executable, "-m", module, *arguments]
    if profile is not None:
        py_spy = py_spy_command()
        if py_spy is None:
            work_dir.cleanup()
            raise ServerProblem("--profile needs py-spy (pip install py-spy==0.4.3)")
        recording = ["record", "--rate", "1000", "--format", "raw", "--output", str(profile)]
        command = [py_spy, *recording, "--", *command]
    stderr_file = open(Path(work_dir.name) / "stderr.txt", "wb")  # noqa: SIM115 (kept for the server's life)
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr_file, cwd=work_dir.name
    )
    stderr_file.close()
    handle = ServerHandle(
        host,
        port,
        process.pid,
        True,
        rate_limiting="none (the reference relay has no limits)" if reference else "off (--no-rate-limit)",
        loop=loop or "asyncio (default)",
        console_log="none (reference relay)" if reference else "quiet (--quiet)",
        process=process,
        work_dir=work_dir,
        command=["python", "-m", module, *arguments],
    )
    try:
        _wait_until_listening(handle)
    except BaseException:  # a server that cannot start, or Ctrl+C meanwhile: never leave it running
        stop_server(handle)
        raise
    if profile is not None:
        handle.pid = listening_pid(port) or _only_child(process.pid)  # the server, not py-spy
    return handle


def _only_child(pid: int) -> int | None:
    """The single child process of ``pid`` (the server py-spy started), if there is exactly one."""
    try:
        children = psutil.Process(pid).children()
    except psutil.Error:
        return None
    return children[0].pid if len(children) == 1 else None


def _wait_until_listening(handle: ServerHandle) -> None:
    """Poll the server's port until it accepts a connection, or fail with its error output."""
    assert handle.process is not None and handle.work_dir is not None
    give_up = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < give_up:
        if handle.process.poll() is not None:
            errors = (Path(handle.work_dir.name) / "stderr.txt").read_text(errors="replace").strip()
            last_line = errors.splitlines()[-1] if errors else f"exit status {handle.process.returncode}"
            raise ServerProblem(f"the server exited at start: {last_line}")
        try:
            with socket.create_connection((handle.host, handle.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ServerProblem(
        f"the server did not listen on {handle.host}:{handle.port} within {START_TIMEOUT_SECONDS:.0f} s"
    )


def stop_server(handle: ServerHandle) -> None:
    """Stop a server the bench started (SIGTERM, then kill) and delete its temporary folder."""
    process = handle.process
    if process is not None and handle.pid not in (None, process.pid) and process.poll() is None:
        with suppress(ProcessLookupError):
            os.kill(handle.pid, signal.SIGTERM)  # the server under py-spy: py-spy then writes its file
        with suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT_SECONDS * 4)
    if process is not None and process.poll() is None:
        if sys.platform == "win32":
            process.terminate()
        else:
            process.send_signal(signal.SIGTERM)  # the server closes its clients and its log cleanly
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_SECONDS)
    if handle.work_dir is not None:
        handle.work_dir.cleanup()
        handle.work_dir = None


def target_server(target: str) -> ServerHandle:
    """A running server given as HOST:PORT, which must be on this machine's loopback."""
    host, _, port_text = target.rpartition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ServerProblem(f"--target must be HOST:PORT, not {target!r}")
    try:
        address = socket.getaddrinfo(host, int(port_text), socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as error:
        raise ServerProblem(f"cannot resolve {host}: {error.strerror}") from None
    if not ipaddress.ip_address(address).is_loopback:
        raise ServerProblem(f"{host} is not a loopback address: the benchmark stays on this machine")
    port = int(port_text)
    try:
        with socket.create_connection((address, port), timeout=2):
            pass
    except OSError as error:
        raise ServerProblem(f"cannot connect to {address}:{port}: {error.strerror or error}") from None
    return ServerHandle(address, port, listening_pid(port), False, "unknown (a running server)",
                        "unknown (a running server)", "as the running server was started")


def listening_pid(port: int) -> int | None:
    """The process listening on this TCP port, if the system lets us see it."""
    try:
        for connection in psutil.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
                return connection.pid
    except (psutil.AccessDenied, psutil.Error, OSError):
        pass
    return None


def cpu_seconds(pid: int | None) -> float | None:
    """User plus system CPU time the process has used so far."""
    if pid is None:
        return None
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def rss_bytes(pid: int | None) -> int | None:
    """The process's resident memory now."""
    if pid is None:
        return None
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return None


def lifetime_peak_rss(pid: int) -> int | None:
    """The kernel's record of the process's peak resident memory (Linux VmHWM), if available."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


class MemoryWatch:
    """Samples a process's resident memory in a background thread and keeps the peak."""

    def __init__(self, pid: int | None) -> None:
        self._pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="memory-watch", daemon=True)

    def __enter__(self) -> MemoryWatch:
        """Start sampling (if the server's process is known)."""
        if self._pid is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop sampling; ``peak`` holds the highest RSS seen."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        """The sampling thread: read the RSS every few milliseconds until told to stop."""
        while not self._stop.is_set():
            rss = rss_bytes(self._pid)
            if rss is None:
                return
            self.peak = max(self.peak, rss)
            self._stop.wait(MEMORY_SAMPLE_SECONDS)
