"""``python3 course.py cluster``'s demo: NATS and two chat nodes that share a room, all stopped on Ctrl+C."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys

import pytest

from chatlib.app.cluster.nats_server import free_port
from chatlib.app.protocol import Message
from tests.app.conftest import FrameClient
from tests.cluster.test_cluster_relay import settle


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT as Ctrl+C would")
async def test_the_demo_serves_two_nodes_sharing_rooms_and_ctrl_c_stops_everything() -> None:
    first = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "chatlib.app.cluster.demo", "--first-port", str(first)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert demo.stdout is not None
        lines = [demo.stdout.readline() for _ in range(3)]
        assert lines[2] == f"Join from other terminals:  chat-client -a 127.0.0.1:{first},127.0.0.1:{first + 1}\n"
        alice = await FrameClient.connect("127.0.0.1", first)
        await alice.hello("alice12")
        await alice.enter("general")
        bob = await FrameClient.connect("127.0.0.1", first + 1)
        await bob.hello("bob12")
        await bob.enter("general")
        await settle(alice, {"bob12"})
        await settle(bob, {"alice12"})
        await alice.say("bonjour de l'autre nœud")
        said = await bob.next_frame()
        assert isinstance(said, Message) and said.text == "bonjour de l'autre nœud"
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=30)
        assert demo.returncode == 0
        assert output.endswith("The chat nodes and NATS are stopped.\n")
        for port in (first, first + 1):
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
        await asyncio.wait_for(alice.expect_closed(), 5)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
