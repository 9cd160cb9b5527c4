"""Part II server checks: raw clients join the student's server and watch, byte for byte, who hears what.

Also checked: the lab sheet's `CLIENTS` dict while clients come and go, and that a bad first
message (not `Hello|PSEUDO`, not UTF-8, a connection closed or reset at once) leaves the room
carrying on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from chatlib.checks.chat_room import ChatRoom, chat_room, said
from chatlib.checks.peers import Peer
from chatlib.checks.report import Mismatch, show_bytes
from chatlib.checks.scenarios import Implementation

ScenarioRun = Callable[[Implementation], Awaitable[None]]


def hello_is_answered(stage: str) -> ScenarioRun:
    """The first message gets its answer: `Hello {IP}:{Port}`, or the announcement from ii_5 on."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            await room.join("alice")

    return scenario


def hello_is_shown(stage: str) -> ScenarioRun:
    """The server's console shows what the client sent."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice = await room.join("alice")
            await room.expect_console("Hello", said(alice, "Hello"), exact=False)

    return scenario


def each_client_gets_its_own_address(stage: str) -> ScenarioRun:
    """Two clients greeting at once each get their own address back."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice, bob = await room.connect("alice"), await room.connect("bob")
            marks = alice.mark(), bob.mark()
            await bob.send("Hello")
            await alice.send("Hello")
            await bob.expect_line(f"Hello {bob.address}", marks[1], sent=said(bob, "Hello"))
            await alice.expect_line(f"Hello {alice.address}", marks[0], sent=said(alice, "Hello"))

    return scenario


def messages_are_shown(stage: str) -> ScenarioRun:
    """Each message, from either of two clients, is shown as `Message received from IP:Port : msg`."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice = await room.join("alice")
            bob = await room.join("bob")
            for peer, text in ((bob, "je suis bob"), (alice, "et moi alice"), (alice, "ça va ?")):
                await peer.send(text)
                await room.expect_console(f"Message received from {peer.address} : {text}", said(peer, text))

    return scenario


def messages_reach_every_other_client(stage: str) -> ScenarioRun:
    """A message reaches every other client as `NAME a dit : msg`, whoever sends it."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice, bob, carol = [await room.join(name) for name in ("alice", "bob", "carol")]
            for speaker, listeners, text in (
                (alice, (bob, carol), "salut"),
                (carol, (alice, bob), "ça va ?"),
            ):
                marks = [listener.mark() for listener in listeners]
                await speaker.send(text)
                for listener, mark in zip(listeners, marks):
                    await listener.expect_line(
                        f"{room.speaker_name(speaker)} a dit : {text}", mark, said(speaker, text)
                    )

    return scenario


def sender_never_hears_itself(stage: str) -> ScenarioRun:
    """Nothing about a message comes back to its sender."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice, bob = await room.join("alice"), await room.join("bob")
            alice_mark, bob_mark = alice.mark(), bob.mark()
            await alice.send("salut")
            await bob.expect_line(f"{room.speaker_name(alice)} a dit : salut", bob_mark, said(alice, "salut"))
            # bob's answer is relayed after alice's own message would have been: once it is there,
            # anything the server sent alice about her message has arrived too.
            await bob.send("bien reçu")
            answer = f"{room.speaker_name(bob)} a dit : bien reçu"
            await alice.expect_line(answer, alice_mark, said(bob, "bien reçu"))
            before_answer = alice.received.since(alice_mark).split(f"{answer}\n".encode())[0]
            if b"salut" in before_answer:
                raise Mismatch(
                    f"the sender, {alice}, got its own message back",
                    sent=said(alice, "salut"),
                    expected=f"nothing for {alice.name} before {answer!r}",
                    arrived=repr(before_answer),
                )

    return scenario


def a_departure_does_not_break_the_room(stage: str) -> ScenarioRun:
    """After a client left, the others still hear each other."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice, bob, carol = [await room.join(name) for name in ("alice", "bob", "carol")]
            await carol.close()
            mark = bob.mark()
            await alice.send("toujours là ?")
            await bob.expect_line(
                f"{room.speaker_name(alice)} a dit : toujours là ?",
                mark,
                f"{carol} left, then " + said(alice, "toujours là ?"),
            )

    return scenario


def newcomers_are_announced(stage: str) -> ScenarioRun:
    """Clients already in the room hear `Annonce : PSEUDO a rejoint la chatroom`."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice = await room.join("alice")
            mark = alice.mark()
            bob = await room.join("bob")
            await alice.expect_line("Annonce : bob a rejoint la chatroom", mark, said(bob, "Hello|bob"))

    return scenario


def departures_are_announced(stage: str, abruptly: bool) -> ScenarioRun:
    """A client leaving (cleanly, or its connection reset) is announced, and the room goes on."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice, bob, carol = [await room.join(name) for name in ("alice", "bob", "carol")]
            marks = alice.mark(), carol.mark()
            if abruptly:
                bob.vanish()
                how = f"{bob}'s connection was reset"
            else:
                await bob.close()
                how = f"{bob} closed its connection"
            for listener, mark in zip((alice, carol), marks):
                await listener.expect_line("Annonce : bob a quitté la chatroom", mark, how)
            mark = carol.mark()
            await alice.send("il est parti")
            await carol.expect_line(
                "alice a dit : il est parti", mark, f"{how}, then " + said(alice, "il est parti")
            )

    return scenario


def clients_are_kept(stage: str) -> ScenarioRun:
    """CLIENTS holds each connected client once, keyed by (IP, port); from ii_6 it loses those who leave."""

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice = await room.join("alice")
            await room.expect_clients([alice], [], f"{alice} joined")
            bob = await room.join("bob")
            await room.expect_clients([alice, bob], [], f"{alice}, then {bob} joined")
            mark = bob.mark()
            await alice.send("salut")
            await bob.expect_line(f"{room.speaker_name(alice)} a dit : salut", mark, said(alice, "salut"))
            await room.expect_clients([alice, bob], [], f"{alice} and {bob} joined, {alice} said 'salut'")
            if stage != "ii_6":
                return
            await bob.close()
            await room.expect_clients([alice], [bob], f"{bob} closed its connection")
            carol = await room.join("carol")
            await room.expect_clients([alice, carol], [bob], f"{carol} joined")
            carol.vanish()
            await room.expect_clients([alice], [bob, carol], f"{carol}'s connection was reset")

    return scenario


BAD_GREETINGS: dict[str, tuple[bytes | None, bool]] = {
    "not Hello|PSEUDO": (b"Salut|mallory", True),
    "Hello| with an empty pseudo": (b"Hello|", True),
    "not UTF-8": (b"Hello|\xff\xfe", False),
    "none, the connection closes at once": (None, True),
    "cut short by a connection reset": (b"Hel", False),
}
"""Each bad first message (None: no message, the connection closes), and whether the server must
then stay silent about that connection (no one joined, so no one is announced, arriving or leaving)."""


def a_bad_first_message_changes_nothing(stage: str, kind: str) -> ScenarioRun:
    """A connection whose first message is bad is never announced, and the others carry on."""
    first_message, must_stay_silent = BAD_GREETINGS[kind]

    async def scenario(given: Implementation) -> None:
        async with chat_room(stage, given) as room:
            alice = await room.join("alice")
            mark = alice.mark()
            intruder = await room.connect("mallory")
            if first_message is None:
                await intruder.close()
                what = f"{intruder} connected and closed its connection at once"
            else:
                await intruder.send_bytes(first_message)
                what = f"{intruder} sent {show_bytes(first_message)} first"
                if "reset" in kind:
                    intruder.vanish()
                    what += ", then its connection was reset"
            bob = await room.join("bob")
            await alice.expect_line("Annonce : bob a rejoint la chatroom", mark, f"{what}; then bob joined")
            await the_room_carries_on(room, alice, bob, what)
            if must_stay_silent:
                heard = unexpected_announcements(alice.received.since(mark), expected=("bob",))
                if heard:
                    raise Mismatch(
                        "the server announced a client whose first message was not a valid Hello|PSEUDO",
                        sent=what,
                        expected="no announcement about that connection (a client joins with Hello|<PSEUDO>)",
                        arrived=", ".join(map(repr, heard)),
                        hint="check the first message is `Hello|` followed by a pseudo that is not empty",
                    )

    return scenario


async def the_room_carries_on(room: ChatRoom, alice: Peer, bob: Peer, what: str) -> None:
    """alice and bob still hear each other."""
    for speaker, listener, text in ((alice, bob, "salut"), (bob, alice, "bien reçu")):
        mark = listener.mark()
        await speaker.send(text)
        await listener.expect_line(
            f"{room.speaker_name(speaker)} a dit : {text}", mark, f"{what}; then " + said(speaker, text)
        )


def unexpected_announcements(received: bytes, expected: tuple[str, ...]) -> list[str]:
    """The `Annonce : ...` lines in `received` about anyone but the `expected` pseudos."""
    lines = received.decode(errors="replace").splitlines()
    return [
        line
        for line in lines
        if line.startswith("Annonce : ")
        and not any(line.startswith(f"Annonce : {pseudo} a ") for pseudo in expected)
    ]
