"""Known users over loopback: a token brings a user back from a new port; nobody takes their pseudo."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from chatlib.app.protocol import Announcement, Error, ErrorCode, Hello, Message, Welcome
from chatlib.app.server.chat_server import ChatServer
from tests.app.conftest import ClientFactory, FrameClient


def local_port(client: FrameClient) -> int:
    """The client's own port: a new one on every connection."""
    return int(client.writer.get_extra_info("sockname")[1])


async def leave(client: FrameClient, *witnesses: FrameClient) -> None:
    """Close ``client`` and wait until each witness has heard it leave."""
    await client.close()
    for witness in witnesses:
        assert isinstance(await witness.next_frame(), Announcement)


async def test_a_returning_user_is_welcomed_back_from_another_port(
    chat_server: ChatServer, connect: ClientFactory
) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    await alice.next_frame()  # bob's arrival
    first = alice.welcome
    assert first is not None and first.token
    first_port = local_port(alice)
    await leave(alice, bob)

    again = await connect()
    welcome = await again.hello("ALICE", first.token)
    assert welcome == Welcome(first.user_id, "alice", first.color, first.token, returning=True)
    assert local_port(again) != first_port
    await again.enter_quietly("jeux")  # ENTERED then HISTORY, and no "a rejoint" for herself
    back = await bob.next_frame()
    assert isinstance(back, Announcement) and back.text == "alice est de retour !"
    await again.expect_silence()
    await bob.say("re")
    message = await again.next_frame()
    assert isinstance(message, Message) and (message.pseudo, message.text) == ("bob", "re")


async def test_a_known_pseudo_needs_its_token_whether_its_owner_is_away_or_not(
    connect: ClientFactory,
) -> None:
    alice = await connect("alice", "jeux")
    witness = await connect("witness", "jeux")
    await alice.next_frame()  # the witness's arrival
    assert alice.welcome is not None
    token = alice.welcome.token
    mallory = await connect()
    await mallory.send(Hello("alice", token))
    assert await mallory.next_frame() == Error(ErrorCode.PSEUDO_TAKEN, "the pseudo alice is already in use")
    await leave(alice, witness)
    await mallory.send(Hello("Alice"))
    assert await mallory.next_frame() == Error(
        ErrorCode.PSEUDO_TAKEN, "the pseudo Alice belongs to another user"
    )
    await mallory.send(Hello("alice", "not-her-token"))
    assert await mallory.next_frame() == Error(ErrorCode.BAD_TOKEN, "wrong token for the pseudo alice")
    await mallory.send(Hello("alice", token[:-1] + ("A" if token[-1] != "A" else "B")))
    assert await mallory.next_frame() == Error(ErrorCode.BAD_TOKEN, "wrong token for the pseudo alice")
    assert (await mallory.hello("mallory")).pseudo == "mallory"  # refusals leave the connection usable
    owner = await connect()
    assert (await owner.hello("alice", token)).returning is True


async def test_a_token_with_a_new_pseudo_makes_a_new_user(connect: ClientFactory) -> None:
    alice = await connect("alice")
    assert alice.welcome is not None
    carol = await connect()
    welcome = await carol.hello("carol", alice.welcome.token)
    assert welcome.returning is False
    assert welcome.token not in ("", alice.welcome.token)
    assert welcome.user_id != alice.welcome.user_id


async def test_away_users_stay_known_and_are_sent_nothing(
    chat_server: ChatServer, connect: ClientFactory
) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    await alice.next_frame()  # bob's arrival
    assert alice.welcome is not None
    await leave(alice, bob)
    known = chat_server.users.find("alice")
    assert known is not None and known.connected is False
    await bob.say("tu es là ?")
    await connect("carol", "jeux")  # more room traffic while alice is away
    await bob.next_frame()

    again = await connect()
    await again.hello("alice", alice.welcome.token)  # WELCOME then ROOMS: nothing queued while away
    assert chat_server.users.find("alice") is known and known.connected is True
    history = await again.enter_quietly("jeux")
    assert [entry.text for entry in history.entries if entry.kind == "message"] == ["tu es là ?"]
    await again.expect_silence()


async def test_tokens_never_reach_the_logs(
    chat_server: ChatServer, connect: ClientFactory, log_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    alice = await connect("alice", "jeux")
    witness = await connect("witness", "jeux")
    await alice.next_frame()  # the witness's arrival
    assert alice.welcome is not None
    token = alice.welcome.token
    await leave(alice, witness)
    again = await connect()
    await again.hello("alice", token)
    await again.enter_quietly("jeux")
    await chat_server.stop()
    conversation = (log_dir / "server.log").read_text(encoding="utf-8")
    assert "alice came back (127.0.0.1:" in conversation
    assert token not in conversation
    assert not any(token in record.getMessage() for record in caplog.records)
