"""Relaying under load while people come and go: nothing lost, nothing twice, each sender's order kept.

Three senders stream messages into a room in bursts (so that the room relays many messages per
loop turn) while a newcomer enters and a member leaves for another room and comes back. Whoever
is in the room must get every message said while they are there, in each sender's order, and
none said while they are away; the HISTORY a member gets on entering and the live messages that
follow must join up exactly. This is what the room's per-turn broadcast (broadcast.py) must keep
true: it delivers what is queued before anyone enters or leaves.

The server (the real command, in its own process) keeps a history long enough to hold the whole
test, so the HISTORY frames tell in which order it took everything in: the reference the
clients' views are checked against. Only the senders' last burst waits for the comings and
goings to be over. How the arrivals interleave with the bursts is up to the two event loops;
the rule itself (deliver before anyone enters or leaves) is checked deterministically in
test_broadcast.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chatlib.app.protocol import EnterRoom, Frame, History, Message, RoomEntered, Say, encode, wording
from chatlib.app.protocol.history import HistoryEntry, RoomHistory, parse_history
from tests.app.conftest import FrameClient
from tests.server_process import server_process

SENDERS = ("ana", "ben", "cyd")
MESSAGES = 2000  # per sender
BURST = 25  # SAY frames per write
ROOM, ELSEWHERE = "general", "ailleurs"
DEADLINE = 30.0
HISTORY_LENGTH = len(SENDERS) * MESSAGES + 20  # every message and announcement of the test

Address = tuple[str, int]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Address]:
    """``chat-server`` in its own process (so that it relays while the test reads), flood rate limit off."""
    async with server_process(tmp_path, "--history-length", str(HISTORY_LENGTH)) as (_, port):
        yield ("127.0.0.1", port)


def number_of(message: Message) -> int:
    """The sequence number a test message carries ("ana 12" -> 12), checking who sent it."""
    sender, number = message.text.split()
    assert sender == message.pseudo
    return int(number)


class Listener:
    """One client's frames as they arrive, with the messages sorted by sender."""

    def __init__(self, client: FrameClient, pseudo: str) -> None:
        self.client, self.pseudo = client, pseudo
        self.frames: list[Frame] = []
        self.live: dict[str, list[int]] = {sender: [] for sender in SENDERS}
        self._milestones: list[tuple[int, asyncio.Event]] = []

    @classmethod
    async def join(cls, server: Address, pseudo: str, room: str | None = ROOM) -> Listener:
        """A client greeted as ``pseudo``, and in ``room`` if given."""
        client = await FrameClient.connect(*server)
        await client.hello(pseudo)
        if room is not None:
            await client.enter(room)
        return cls(client, pseudo)

    def heard(self) -> int:
        """How many messages it has received."""
        return sum(map(len, self.live.values()))

    async def heard_at_least(self, count: int) -> None:
        """Wait until it has received ``count`` messages (the reading is done by ``read``)."""
        if self.heard() < count:
            reached = asyncio.Event()
            self._milestones.append((count, reached))
            await reached.wait()

    def done(self) -> bool:
        """Whether the last message of every other sender has come."""
        return all(self.live[sender][-1:] == [MESSAGES - 1] for sender in SENDERS if sender != self.pseudo)

    async def read(self, until: type[Frame] | None = None) -> None:
        """Read frames until one of type ``until`` comes, or else until ``done``."""
        while not (until is None and self.done()):
            frame = await self.client.next_frame(DEADLINE)
            self.frames.append(frame)
            if isinstance(frame, Message):
                self.live[frame.pseudo].append(number_of(frame))
                for count, reached in self._milestones:
                    if self.heard() >= count:
                        reached.set()
            if until is not None and isinstance(frame, until):
                return

    def messages_between(self, first: Frame | None, last: Frame, sender: str) -> list[int]:
        """The numbers of ``sender``'s messages received after the frame ``first`` (None: from the
        start) and before the frame ``last``."""
        start = self.frames.index(first) + 1 if first is not None else 0
        end = self.frames.index(last)
        return [
            number_of(frame)
            for frame in self.frames[start:end]
            if isinstance(frame, Message) and frame.pseudo == sender
        ]

    def history_after(self, entered: Frame) -> RoomHistory:
        """The HISTORY that came right after the frame ``entered``."""
        history = self.frames[self.frames.index(entered) + 1]
        assert isinstance(history, History), history
        return parse_history(history.entries_json)


async def stream(client: FrameClient, pseudo: str, churn_over: asyncio.Event) -> None:
    """Send MESSAGES SAYs in bursts, as fast as the connection takes them; the last burst once
    ``churn_over`` is set, so that everyone is in the room to hear the end."""
    for start in range(0, MESSAGES, BURST):
        if start + BURST >= MESSAGES:
            await churn_over.wait()
        await client.send_raw(b"".join(encode(Say(f"{pseudo} {n}")) for n in range(start, start + BURST)))


def said(entries: list[HistoryEntry], sender: str) -> list[int]:
    """The numbers of ``sender``'s messages among history entries, in the order the server took them."""
    return [
        int(entry.text.split()[1]) for entry in entries if entry.kind == "message" and entry.pseudo == sender
    ]


async def test_who_comes_and_goes_gets_exactly_what_is_said_while_there(server: Address) -> None:
    senders = [await Listener.join(server, pseudo) for pseudo in SENDERS]
    lou = await Listener.join(server, "lou")  # there all along, silent
    tom = await Listener.join(server, "tom")  # leaves, and comes back
    zoe = await Listener.join(server, "zoe", room=None)  # enters while the messages flow
    everyone = len(SENDERS) * MESSAGES
    churn_over = asyncio.Event()

    async with asyncio.timeout(DEADLINE):
        streams = [asyncio.create_task(stream(s.client, s.pseudo, churn_over)) for s in senders]
        readers = [asyncio.create_task(listener.read()) for listener in [*senders, lou]]
        await lou.heard_at_least(everyone // 8)
        await zoe.client.send(EnterRoom(ROOM))
        readers.append(asyncio.create_task(zoe.read()))
        while tom.heard() < everyone // 4:
            await tom.read(until=Message)
        await tom.client.send(EnterRoom(ELSEWHERE))
        await tom.read(until=RoomEntered)
        await lou.heard_at_least(everyone // 2)
        await tom.client.send(EnterRoom(ROOM))
        await tom.read(until=RoomEntered)  # past the other room's HISTORY: this one is general's
        await tom.read(until=History)
        churn_over.set()
        await asyncio.gather(*streams, *readers, tom.read())

    for listener in [*senders, lou]:
        for sender in SENDERS:
            expected = [] if sender == listener.pseudo else list(range(MESSAGES))
            assert listener.live[sender] == expected, f"{listener.pseudo} from {sender}"

    left, back = RoomEntered(ELSEWHERE), RoomEntered(ROOM)
    history_back = list(tom.history_after(back).entries)
    tom_left = next(
        i for i, entry in enumerate(history_back) if entry.text == wording.moved_to("tom", ELSEWHERE)
    )
    for sender in SENDERS:
        before = tom.messages_between(None, left, sender)
        assert before == said(
            history_back[:tom_left], sender
        ), f"tom: {sender}'s messages said before he left"
        assert tom.messages_between(left, back, sender) == [], "a message of the room reached tom away"
        after = tom.live[sender][len(before) :]
        assert said(history_back, sender) + after == list(range(MESSAGES)), f"tom: {sender}'s once back"

    zoe_history = list(zoe.history_after(RoomEntered(ROOM)).entries)
    for sender in SENDERS:
        earlier = said(zoe_history, sender)
        assert earlier + zoe.live[sender] == list(range(MESSAGES)), f"zoe: {sender}'s, history then live"
