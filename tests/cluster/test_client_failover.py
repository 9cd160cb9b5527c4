"""``chat-client -a NODE,NODE`` follows the cluster: its node killed, it goes on with another (real processes)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from chatlib.app.cluster.nats_server import LocalNats
from chatlib.app.protocol import Announcement, Message
from tests.cluster.conftest import ClientFactory, NodeFactory, eventually, node_process
from tests.cluster.test_cluster_relay import knows_rooms, settle

CLOCK = re.compile(r"^\[\d\d:\d\d\] ")
LINE_TIMEOUT = 15.0


async def read_until(stream: asyncio.StreamReader, wanted: str) -> list[str]:
    """Lines (without their ``[hh:mm]``) until one equal to ``wanted``, that one included."""
    lines = []
    async with asyncio.timeout(LINE_TIMEOUT):
        while True:
            raw = await stream.readline()
            assert raw, f"the client's output ended before {wanted!r}: {lines}"
            line = CLOCK.sub("", raw.decode().rstrip("\n"))
            lines.append(line)
            if line == wanted:
                return lines


async def test_the_client_moves_to_another_node_with_its_token_room_and_what_it_missed(
    nats_one: LocalNats, make_node: NodeFactory, connect: ClientFactory, tmp_path: Path
) -> None:
    b = await make_node(nats_one.urls)
    bob = await connect(b, "bob11", "general")
    async with node_process(tmp_path, nats_one.cluster_option) as doomed:
        nodes = f"127.0.0.1:{doomed.port},127.0.0.1:{b.address[1]}"
        client = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chatlib.app.client", "-a", nodes, "--pseudo", "alice11", "--room", "general",
            "--state-dir", str(tmp_path / "state"), "--log-dir", str(tmp_path / "logs"),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=os.environ | {"XDG_CONFIG_HOME": str(tmp_path / "no-config")}, cwd=tmp_path,
        )
        assert client.stdin is not None and client.stdout is not None and client.stderr is not None
        try:
            await settle(bob, {"alice11"})
            await bob.say("avant")
            await read_until(client.stdout, "bob11 a dit : avant")
            await eventually(lambda: knows_rooms(b, {"general": 2}))
            doomed.process.kill()
            doomed.process.wait(timeout=5)
            notice = f"* 127.0.0.1:{doomed.port} went away: now on 127.0.0.1:{b.address[1]}, back in room general"
            moved = await read_until(client.stderr, notice + " (1 missed)")
            assert moved[-1].startswith(notice)
            assert await read_until(client.stdout, "--- now ---") == [
                "--- history ---", "Annonce : alice11 a quitté la chatroom", "--- now ---"
            ]
            for frame_text in ("Annonce : alice11 a quitté la chatroom", "alice11 est de retour !"):
                frame = await bob.next_frame()
                assert isinstance(frame, Announcement) and frame.text == frame_text
            client.stdin.write("toujours là\n".encode())
            await client.stdin.drain()
            said = await bob.next_frame()
            assert isinstance(said, Message) and (said.pseudo, said.text) == ("alice11", "toujours là")
            await bob.say("bien reçu")
            await read_until(client.stdout, "bob11 a dit : bien reçu")
            client.stdin.close()
            assert await asyncio.wait_for(client.wait(), LINE_TIMEOUT) == 0
        finally:
            if client.returncode is None:
                client.kill()
                await client.wait()
