"""A three-node NATS cluster with JetStream replicas = 3: one NATS node killed, the chat goes on."""

from __future__ import annotations

from collections.abc import Iterator

import nats
import pytest

from chatlib.app.cluster.nats_server import LocalNats
from chatlib.app.cluster.subjects import HISTORY_STREAM, USERS_BUCKET
from chatlib.app.protocol import Hello, Message, RoomList, Welcome
from chatlib.app.server.limits import ServerLimits
from tests.cluster.conftest import ClientFactory, NodeFactory
from tests.cluster.test_cluster_relay import settle

FAILOVER = 40.0  # seconds for a chat node to reach another NATS node and JetStream to elect new leaders


@pytest.fixture(scope="module")
def nats_three() -> Iterator[LocalNats]:
    """Three nats-server processes in one cluster, for the whole module."""
    with LocalNats(3) as cluster:
        yield cluster


async def test_history_and_users_are_replicated_on_the_three_nats_nodes(
    nats_three: LocalNats, make_node: NodeFactory, connect: ClientFactory
) -> None:
    node = await make_node(nats_three.urls)
    await connect(node, "alice9", "general")
    client = await nats.connect(nats_three.urls)
    try:
        jetstream = client.jetstream()
        assert (await jetstream.stream_info(HISTORY_STREAM)).config.num_replicas == 3
        assert (await jetstream.stream_info(f"KV_{USERS_BUCKET}")).config.num_replicas == 3
    finally:
        await client.close()


async def test_killing_one_nats_node_of_three_the_chat_goes_on_and_nothing_acknowledged_is_lost(
    nats_three: LocalNats, make_node: NodeFactory, connect: ClientFactory
) -> None:
    n1, n2, n3 = nats_three.urls
    limits = ServerLimits(rate_limit=None, hello_timeout=FAILOVER)  # logins wait for the new leaders
    a = await make_node([n1, n2, n3], patience=FAILOVER, limits=limits)  # connected to n1, about to die
    b = await make_node([n2, n3, n1], patience=FAILOVER, limits=limits)
    alice = await connect(a, "alice10", "r3")
    bob = await connect(b, "bob10", "r3")
    await settle(alice, {"bob10"})
    await settle(bob, {"alice10"})
    before = [f"avant {number}" for number in range(20)]
    for text in before:
        await alice.say(text)
    assert [(await bob.next_frame()).text for _ in before] == before
    nats_three.kill(0)
    after = [f"après {number}" for number in range(20)]
    for text in after:
        await alice.say(text)
    frames = [await bob.next_frame(FAILOVER) for _ in after]
    assert [(frame.pseudo, frame.text) for frame in frames if isinstance(frame, Message)] == [
        ("alice10", text) for text in after
    ]
    await bob.say("toujours là")
    assert (await alice.next_frame(FAILOVER)).text == "toujours là"
    for node in (a, b):
        late = await connect(node)
        await late.send(Hello(f"late10{node.address[1]}"))  # JetStream may still be electing leaders
        welcome = await late.next_frame(FAILOVER)
        assert isinstance(welcome, Welcome), welcome
        assert isinstance(await late.next_frame(), RoomList)
        history = await late.enter_quietly("r3")
        texts = [entry.text for entry in history.entries]
        assert texts[texts.index("avant 0") :][: len(before) + len(after) + 1] == [*before, *after, "toujours là"]
    nats_three.restart(0)
