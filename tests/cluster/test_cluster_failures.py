"""Failures with one real nats-server: a chat node killed, NATS unreachable at start, NATS lost while running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from chatlib.app.cluster.nats_server import LocalNats, free_port
from chatlib.app.protocol import Announcement, Closing, Message
from tests.app.conftest import FrameClient
from tests.cluster.conftest import ClientFactory, NodeFactory, eventually, node_process
from tests.cluster.test_cluster_relay import knows_rooms, settle

DEATH_NOTICED = 10.0  # seconds: a silent node is taken for dead after 3 s


async def test_a_killed_chat_nodes_clients_move_the_others_see_departures_and_nothing_acknowledged_is_lost(
    nats_one: LocalNats, make_node: NodeFactory, connect: ClientFactory, tmp_path: Path
) -> None:
    b, c = await make_node(nats_one.urls), await make_node(nats_one.urls)
    async with node_process(tmp_path, nats_one.cluster_option) as doomed:
        alice = await FrameClient.connect("127.0.0.1", doomed.port)
        await alice.hello("alice7")
        await alice.enter("panne7")
        bob = await connect(b, "bob7", "panne7")
        carol = await connect(c, "carol7", "panne7")
        everyone = {"alice7", "bob7", "carol7"}
        for client in (alice, bob, carol):
            await settle(client, everyone - {client.welcome.pseudo})
        said = [f"avant {number}" for number in range(5)]
        for text in said:
            await alice.say(text)
        for receiver in (bob, carol):
            assert [(await receiver.next_frame()).text for _ in said] == said
        await eventually(lambda: knows_rooms(b, {"panne7": 3}) and knows_rooms(c, {"panne7": 3}))
        doomed.process.kill()
        doomed.process.wait(timeout=5)
    for receiver in (bob, carol):
        frame = await receiver.next_frame(DEATH_NOTICED)
        assert isinstance(frame, Announcement) and frame.text == "Annonce : alice7 a quitté la chatroom"
    await bob.expect_silence()
    assert alice.welcome is not None
    moved = await connect(b, "alice7", token=alice.welcome.token)
    assert moved.welcome is not None and moved.welcome.returning
    history = await moved.enter_quietly("panne7")
    assert [entry.text for entry in history.entries][-6:] == [*said, "Annonce : alice7 a quitté la chatroom"]
    for receiver in (bob, carol):
        back = await receiver.next_frame()
        assert isinstance(back, Announcement) and back.text == "alice7 est de retour !"
    await moved.say("après")
    for receiver in (bob, carol):
        frame = await receiver.next_frame()
        assert isinstance(frame, Message) and (frame.pseudo, frame.text) == ("alice7", "après")
    late = await connect(c, "late7", "panne7")
    assert late.history is not None
    assert [entry.text for entry in late.history.entries][-8:] == [
        *said,
        "Annonce : alice7 a quitté la chatroom",
        "alice7 est de retour !",
        "après",
    ]


def test_nats_unreachable_at_start_is_one_clear_line_and_status_1(tmp_path: Path) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "chatlib.app.server", "--port", "0", "--cluster", url]
    command += ["--cluster-patience", "1", "--data-dir", str(tmp_path / "d"), "--log-dir", str(tmp_path / "l")]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert finished.returncode == 1
    assert finished.stderr.strip().splitlines()[-1] == f"chat-server: cannot reach NATS at {url}: connection refused"
    assert "Traceback" not in finished.stderr + finished.stdout


async def test_nats_lost_while_running_closes_the_clients_with_a_reason_and_the_node_stops(tmp_path: Path) -> None:
    nats = LocalNats(1).start()
    try:
        async with node_process(tmp_path, nats.cluster_option, "--cluster-patience", "1") as node:
            alice = await FrameClient.connect("127.0.0.1", node.port)
            await alice.hello("alice8")
            await alice.enter("general")
            nats.kill(0)
            frames = await alice.expect_closed(timeout=15)
            assert frames == [Closing("the server lost the cluster")]
            assert node.process.wait(timeout=15) == 1
            output = node.output()
            assert "lost the connection to NATS; reconnecting (giving up after 1 s)" in output
            assert output.strip().splitlines()[-1] == "chat-server: left the cluster: no NATS server answered for 1 s"
            assert "Traceback" not in output
    finally:
        nats.stop()
