"""Notebook 05's helpers: NATS and chat nodes started from cells, and stopped by the last one.

``start_nats(n)`` starts n nats-server processes (``LocalNats``); ``start_node(nats)`` a chat
node inside the kernel (a ``ChatServer`` sharing through NATS); ``start_node_process(nats)`` a
``chat-server --cluster`` in its own process, that a cell can kill like ``kill -9``.
``stop_everything()`` stops all of them (and the users of ``app_demo``).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time

from chatlib.app.cluster.nats_server import LocalNats, free_port
from chatlib.app.cluster.node import start_node as start_cluster_node
from chatlib.app.cluster.sharing import ClusterSharing
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.server.limits import ServerLimits
from chatlib.notebook.app_demo import stop_all

CLOCK = re.compile(r"\[\d\d:\d\d\] ")
_NATS: list[LocalNats] = []
_NODES: list[ChatServer] = []
_PROCESSES: list[subprocess.Popen[bytes]] = []


def start_nats(servers: int = 1) -> LocalNats:
    """Start ``servers`` NATS servers (1, or 3 as one cluster) on free ports."""
    nats = LocalNats(servers).start()
    _NATS.append(nats)
    return nats


async def start_node(urls: list[str], patience: float = 30.0) -> ChatServer:
    """A chat node in this kernel, on a free port, sharing through NATS at ``urls``."""
    sharing = ClusterSharing(urls, patience=patience)
    node = await start_cluster_node("127.0.0.1", 0, sharing, limits=ServerLimits(rate_limit=None))
    _NODES.append(node)
    return node


def start_node_process(nats: LocalNats) -> tuple[subprocess.Popen[bytes], int]:
    """``chat-server --cluster`` in its own process on a free port: (the process, its port)."""
    port = free_port()
    command = [sys.executable, "-m", "chatlib.app.server", "-p", str(port), "-q", "--cluster", nats.cluster_option]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _PROCESSES.append(process)
    import socket

    give_up = time.monotonic() + 20
    while time.monotonic() < give_up:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the chat node on port {port} did not start")


async def wait_until_known(node: ChatServer, pseudo: str, timeout: float = 10.0) -> None:
    """Wait until ``node`` knows, from the other nodes' states, that ``pseudo`` is in one of their rooms."""
    give_up = time.monotonic() + timeout
    while not any(pseudo in members for state in node.sharing.neighbours.states() for members in state.rooms.values()):
        if time.monotonic() > give_up:
            raise TimeoutError(f"no node said {pseudo} was there")
        await asyncio.sleep(0.02)


def without_clock(lines: list[str]) -> list[str]:
    """Chat lines without their ``[hh:mm]`` (the time of a run varies)."""
    return [CLOCK.sub("", line) for line in lines]


async def stop_everything() -> None:
    """Stop the users, the chat nodes (in the kernel and in processes), then NATS."""
    await stop_all()
    for node in _NODES:
        await node.stop()
    for process in _PROCESSES:
        if process.poll() is None:
            process.terminate()
        process.wait(10)
    for nats in _NATS:
        nats.stop()
    _NODES.clear()
    _PROCESSES.clear()
    _NATS.clear()
