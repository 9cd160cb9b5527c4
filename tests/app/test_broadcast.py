"""A room's broadcast: one delivery per member per loop turn, senders skipped, order kept."""

from __future__ import annotations

import asyncio

from chatlib.app.server.broadcast import Broadcast
from chatlib.app.server.rooms import RoomRegistry

TIMEOUT = 5.0


class Inboxes:
    """What each member received, delivery by delivery: (bytes, frame count)."""

    def __init__(self) -> None:
        self.received: dict[str, list[tuple[bytes, int]]] = {}

    def deliver(self, member: str, data: bytes, frames: int) -> None:
        self.received.setdefault(member, []).append((data, frames))

    def of(self, member: str) -> list[tuple[bytes, int]]:
        return self.received.get(member, [])


async def next_turn() -> None:
    """Let the event loop run the callbacks scheduled so far (the end-of-turn delivery)."""
    async with asyncio.timeout(TIMEOUT):
        await asyncio.sleep(0)


async def test_a_turn_of_messages_reaches_each_member_in_one_piece_without_echo() -> None:
    inboxes = Inboxes()
    broadcast = Broadcast({"alice", "bob", "carol"}, inboxes.deliver)
    broadcast.send(b"a1", skip="alice")
    broadcast.send(b"a2", skip="alice")
    assert broadcast.pending and inboxes.received == {}, "nothing is delivered before the turn ends"
    await next_turn()
    assert not broadcast.pending
    assert inboxes.of("bob") == inboxes.of("carol") == [(b"a1a2", 2)]
    assert inboxes.of("alice") == []


async def test_each_sender_gets_the_others_frames_in_order() -> None:
    inboxes = Inboxes()
    broadcast = Broadcast({"alice", "bob", "carol"}, inboxes.deliver)
    for frame, sender in [(b"a1", "alice"), (b"b1", "bob"), (b"a2", "alice"), (b"n1", None)]:
        broadcast.send(frame, skip=sender)
    await next_turn()
    assert inboxes.of("carol") == [(b"a1b1a2n1", 4)]
    assert inboxes.of("alice") == [(b"b1n1", 2)]
    assert inboxes.of("bob") == [(b"a1a2n1", 3)]


async def test_a_large_batch_is_delivered_without_waiting_for_the_end_of_the_turn() -> None:
    inboxes = Inboxes()
    broadcast = Broadcast({"alice", "bob"}, inboxes.deliver, max_batch_bytes=10)
    for number in range(4):
        broadcast.send(b"%04d" % number, skip="alice")
    assert inboxes.of("bob") == [(b"000000010002", 3)], "delivered as soon as 10 bytes were queued"
    await next_turn()
    assert inboxes.of("bob") == [(b"000000010002", 3), (b"0003", 1)]


async def test_a_newcomer_gets_nothing_said_before_it_came_and_one_leaving_gets_all_said_before() -> None:
    inboxes = Inboxes()
    rooms: RoomRegistry[str] = RoomRegistry(inboxes.deliver, ["general"])
    general = rooms.enter("general", "alice")
    rooms.enter("general", "bob")
    general.broadcast.send(b"before carol", skip="alice")
    rooms.enter("general", "carol")
    general.broadcast.send(b"before bob left", skip="alice")
    rooms.leave(general, "bob")
    general.broadcast.send(b"after bob left", skip="alice")
    assert inboxes.of("bob") == [(b"before carolbefore bob left", 2)], "bob has his share as he leaves"
    assert inboxes.of("carol") == [], "the others get theirs at the end of the turn"
    await next_turn()
    assert inboxes.of("bob") == [(b"before carolbefore bob left", 2)]
    assert inboxes.of("carol") == [(b"before bob leftafter bob left", 2)]
    assert inboxes.of("alice") == []


async def test_arrivals_and_departures_cost_one_delivery_per_member_per_turn() -> None:
    inboxes = Inboxes()
    deliveries: list[str] = []

    def deliver(member: str, data: bytes, frames: int) -> None:
        deliveries.append(member)
        inboxes.deliver(member, data, frames)

    rooms: RoomRegistry[str] = RoomRegistry(deliver)
    for number in range(100):  # a hundred arrive in one turn, each announced to the room
        room = rooms.enter("crowd", f"user{number}")
        room.broadcast.send(b"%03d" % number)
    for number in range(0, 100, 2):  # and half of them leave again
        rooms.leave(room, f"user{number}")
        room.broadcast.send(b"-%03d" % number)
    await next_turn()
    assert len(deliveries) == 100, "each member had one delivery: as it left, or at the end of the turn"
    departures = [b"-%03d" % number for number in range(0, 100, 2)]
    assert inboxes.of("user98") == [(b"098099" + b"".join(departures[:-1]), 51)], "sent while it was there"
    assert inboxes.of("user99") == [(b"099" + b"".join(departures), 51)]


async def test_a_member_catching_up_gets_its_share_once() -> None:
    inboxes = Inboxes()
    broadcast = Broadcast({"alice", "bob", "carol"}, inboxes.deliver)
    broadcast.send(b"a1", skip="alice")
    broadcast.catch_up("bob")  # before a frame for bob alone
    broadcast.send(b"a2", skip="alice")
    broadcast.catch_up("alice")  # nothing for her: she said it
    assert inboxes.of("bob") == [(b"a1", 1)] and inboxes.of("alice") == []
    await next_turn()
    assert inboxes.of("bob") == [(b"a1", 1), (b"a2", 1)]
    assert inboxes.of("carol") == [(b"a1a2", 2)]
    assert inboxes.of("alice") == []


async def test_news_sent_while_delivering_comes_after_the_delivery_for_everyone() -> None:
    members = dict.fromkeys(["alice", "bob", "carol", "dave"])  # an ordered set: bob before carol, dave
    inboxes = Inboxes()

    def deliver_dropping_bob(member: str, data: bytes, frames: int) -> None:
        inboxes.deliver(member, data, frames)
        if member == "bob" and data == b"hello":  # bob's outbox overflowed: the server drops him
            del members["bob"]
            broadcast.send(b"bob left")
            broadcast.deliver()

    broadcast = Broadcast(members, deliver_dropping_bob)
    broadcast.send(b"hello", skip="alice")
    await next_turn()
    await next_turn()
    for member in ("carol", "dave"):
        assert inboxes.of(member) == [(b"hello", 1), (b"bob left", 1)], member
    assert inboxes.of("alice") == [(b"bob left", 1)]
    assert inboxes.of("bob") == [(b"hello", 1)]
