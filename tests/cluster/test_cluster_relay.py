"""Chat nodes sharing one real nats-server: relay and order, ROOMS, users and tokens, history."""

from __future__ import annotations

import asyncio

from chatlib.app.cluster.nats_server import LocalNats
from chatlib.app.protocol import Announcement, Error, ErrorCode, Hello, Message, RoomInfo, Welcome, encode
from chatlib.app.server.chat_server import ChatServer
from tests.app.conftest import FrameClient
from tests.cluster.conftest import ClientFactory, NodeFactory, eventually


async def wait_for_announcement(client: FrameClient, text: str) -> list[object]:
    """Read frames until the announcement ``text``; return the frames before it."""
    before: list[object] = []
    while True:
        frame = await client.next_frame()
        if isinstance(frame, Announcement) and frame.text == text:
            return before
        before.append(frame)


def in_causal_order(texts: list[str], expected: list[str]) -> bool:
    """Whether ``texts`` are ``expected``, the two arrivals (on two nodes, at about the same time) in either order."""
    return set(texts[:2]) == set(expected[:2]) and texts[2:] == expected[2:]


async def settle(client: FrameClient, pseudos: set[str]) -> None:
    """Wait until the client has seen each of these pseudos arrive, in its history or live.

    Arrivals on other nodes come through NATS: one may reach this node just before or just after
    the client entered, so it is in the client's history or comes live, in either order.
    """
    assert client.history is not None
    seen = {entry.text for entry in client.history.entries}
    waiting = {f"Annonce : {pseudo} a rejoint la chatroom" for pseudo in pseudos} - seen
    while waiting:
        frame = await client.next_frame()
        assert isinstance(frame, Announcement), frame
        waiting.discard(frame.text)


def knows_rooms(node: ChatServer, rooms: dict[str, int]) -> bool:
    """Whether the node's ROOMS would list these rooms with these sizes (the others' states arrived)."""
    listing = {room.name: room.members for room in node.sharing.room_listing(())}
    return all(listing.get(name) == size for name, size in rooms.items())


async def test_a_senders_messages_reach_every_node_exact_and_in_order_and_never_back(
    nats_one: LocalNats, make_node: NodeFactory, connect: ClientFactory
) -> None:
    a, b, c = [await make_node(nats_one.urls) for _ in range(3)]
    alice = await connect(a, "alice1", "ordre")
    albert = await connect(a, "albert1", "ordre")
    bob = await connect(b, "bob1", "ordre")
    carol = await connect(c, "carol1", "ordre")
    everyone = {"alice1", "albert1", "bob1", "carol1"}
    for watcher in (alice, albert, bob, carol):
        await settle(watcher, everyone - {watcher.welcome.pseudo})
    texts = [f"message {number}" for number in range(300)]
    for text in texts:
        await alice.say(text)
    delivered: list[bytes] = []
    for receiver in (albert, bob, carol):
        frames = [await receiver.next_frame() for _ in texts]
        assert [frame.text for frame in frames if isinstance(frame, Message)] == texts
        assert {(frame.pseudo, frame.color) for frame in frames} == {("alice1", alice.welcome.color)}
        delivered.append(b"".join(encode(frame) for frame in frames))
    assert delivered[1] == delivered[0] and delivered[2] == delivered[0], "the frames alice's node made"
    await alice.expect_silence()


async def test_announcements_keep_their_place_among_a_remote_senders_messages(
    nats_one: LocalNats, make_node: NodeFactory, connect: ClientFactory
) -> None:
    a, b = await make_node(nats_one.urls), await make_node(nats_one.urls)
    alice = await connect(a, "alice2", "place")
    bob = await connect(b, "bob2", "place")
    await wait_for_announcement(alice, "Annonce : bob2 a rejoint la chatroom")
    for number in range(3):
        await bob.say(f"avant {number}")
    await bob.close()
    dave = await connect(b, "dave2", "place")
    await dave.say("après")
    frames = [await alice.next_frame() for _ in range(6)]
    assert [(type(frame).__name__, frame.text) for frame in frames] == [
        ("Message", "avant 0"),
        ("Message", "avant 1"),
        ("Message", "avant 2"),
        ("Announcement", "Annonce : bob2 a quitté la chatroom"),
        ("Announcement", "Annonce : dave2 a rejoint la chatroom"),
        ("Message", "après"),
    ]


async def test_rooms_lists_every_nodes_rooms_with_their_members(
    nats_one: LocalNats, make_node: NodeFactory, connect: ClientFactory
) -> None:
    a, b, c = [await make_node(nats_one.urls) for _ in range(3)]
    await connect(a, "alice3", "salon3")
    await connect(b, "bob3", "salon3")
    await connect(b, "brice3", "autre3")
    await eventually(lambda: knows_rooms(c, {"salon3": 2, "autre3": 1}))
    newcomer = await connect(c, "carol3")
    assert newcomer.rooms is not None
    assert newcomer.rooms.rooms[:3] == (RoomInfo("general", 0), RoomInfo("salon3", 2), RoomInfo("autre3", 1))


async def test_two_people_claiming_the_same_new_pseudo_on_two_nodes_at_once_exactly_one_wins(
    nats_one: LocalNats, make_node: NodeFactory, connect: ClientFactory
) -> None:
    a, b = await make_node(nats_one.urls), await make_node(nats_one.urls)
    pseudos = [f"race{number}" for number in range(20)]
    pairs = [(await connect(a), await connect(b)) for _ in pseudos]
    await asyncio.gather(
        *(client.send(Hello(pseudo)) for pseudo, pair in zip(pseudos, pairs) for client in pair)
    )
    for pseudo, pair in zip(pseudos, pairs):
        answers = [await client.next_frame() for client in pair]
        winners = [answer for answer in answers if isinstance(answer, Welcome)]
        losers = [answer for answer in answers if isinstance(answer, Error)]
        assert len(winners) == 1 and len(losers) == 1, answers
        assert losers[0] in (  # taken by the winner, whether the loser's node saw them connected yet or not
            Error(ErrorCode.PSEUDO_TAKEN, f"the pseudo {pseudo} is already in use"),
            Error(ErrorCode.PSEUDO_TAKEN, f"the pseudo {pseudo} belongs to another user"),
        )


async def test_a_token_from_one_node_is_recognised_by_another(
    nats_one: LocalNats, make_node: NodeFactory, connect: ClientFactory
) -> None:
    a, b = await make_node(nats_one.urls), await make_node(nats_one.urls)
    alice = await connect(a, "alice5", "jeux5")
    bob = await connect(b, "bob5", "jeux5")
    first = alice.welcome
    assert first is not None
    twin = await connect(b)
    await twin.send(Hello("alice5", first.token))
    assert await twin.next_frame() == Error(ErrorCode.PSEUDO_TAKEN, "the pseudo alice5 is already in use")
    await alice.close()
    await wait_for_announcement(bob, "Annonce : alice5 a quitté la chatroom")
    again = await connect(b, "alice5", token=first.token)
    assert again.welcome == Welcome(first.user_id, "alice5", first.color, first.token, True)
    await again.enter_quietly("jeux5")
    await wait_for_announcement(bob, "alice5 est de retour !")
    stranger = await connect(a)
    await stranger.send(Hello("alice5", "not-her-token"))
    assert await stranger.next_frame() in (
        Error(ErrorCode.PSEUDO_TAKEN, "the pseudo alice5 is already in use"),
        Error(ErrorCode.BAD_TOKEN, "wrong token for the pseudo alice5"),
    )


async def test_a_late_joiner_on_any_node_sees_the_history_of_every_node(
    nats_one: LocalNats, make_node: NodeFactory, connect: ClientFactory
) -> None:
    a, b = await make_node(nats_one.urls), await make_node(nats_one.urls)
    alice = await connect(a, "alice6", "histoire6")
    bob = await connect(b, "bob6", "histoire6")
    await settle(alice, {"bob6"})
    await settle(bob, {"alice6"})
    await alice.say("de A")
    assert (await bob.next_frame()).text == "de A"
    await bob.say("de B")
    assert (await alice.next_frame()).text == "de B"
    expected = [
        "Annonce : alice6 a rejoint la chatroom",
        "Annonce : bob6 a rejoint la chatroom",
        "de A",
        "de B",
    ]
    for node in (a, b):
        late = await connect(node, f"late6{node.address[1]}")
        history = await late.enter_quietly("histoire6")
        assert in_causal_order([entry.text for entry in history.entries][:4], expected)
    c = await make_node(nats_one.urls)  # started afterwards: it reads the history from the stream
    history = await (await connect(c, "late6c")).enter_quietly("histoire6")
    assert in_causal_order([entry.text for entry in history.entries][:4], expected)
    assert history.entries[2].pseudo == "alice6" and history.entries[3].pseudo == "bob6"
