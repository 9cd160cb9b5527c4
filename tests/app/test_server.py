"""The chat server over real loopback TCP: handshake, rooms, relaying, bad clients, stop, logs."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest

from chatlib.app.protocol import (
    MAX_PSEUDO_LENGTH,
    MAX_ROOM_LENGTH,
    Announcement,
    Bye,
    Closing,
    EnterRoom,
    Error,
    ErrorCode,
    FrameType,
    Hello,
    History,
    Message,
    RoomEntered,
    RoomInfo,
    RoomList,
    Say,
    SendImage,
    Welcome,
    encode,
)
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.server.colors import PALETTE
from tests.app.conftest import ClientFactory, FrameClient


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# --- Handshake ----------------------------------------------------------------------------------


async def test_hello_gets_welcome_then_the_rooms(connect: ClientFactory) -> None:
    client = await connect()
    await client.send(Hello("  it4  "))
    welcome = await client.next_frame()
    assert isinstance(welcome, Welcome)
    assert welcome.pseudo == "it4"
    assert welcome.color in PALETTE
    assert re.fullmatch(r"[0-9a-f]{16}", welcome.user_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", welcome.token)
    assert welcome.returning is False
    assert await client.next_frame() == RoomList((RoomInfo("general", 0),))


async def test_rooms_list_counts_the_members(connect: ClientFactory) -> None:
    await connect("alice", "jeux")
    await connect("bob", "jeux")
    await connect("carol", "general")
    dave = await connect("dave")
    assert dave.rooms == RoomList((RoomInfo("general", 1), RoomInfo("jeux", 2)))


async def test_a_connected_pseudo_is_refused_then_another_is_accepted(connect: ClientFactory) -> None:
    alice = await connect("alice", "jeux")
    impostor = await connect()
    await impostor.send(Hello("ALICE"))
    assert await impostor.next_frame() == Error(ErrorCode.PSEUDO_TAKEN, "the pseudo ALICE is already in use")
    assert (await impostor.hello("alice2")).pseudo == "alice2"
    await impostor.enter("jeux")
    await alice.close()
    left = await impostor.next_frame()
    assert isinstance(left, Announcement) and left.text == "Annonce : alice a quitté la chatroom"
    assert alice.welcome is not None
    comeback = await connect()
    assert (await comeback.hello("alice", alice.welcome.token)).pseudo == "alice"


@pytest.mark.parametrize(
    ("pseudo", "reason"),
    [
        ("", "the pseudo is empty"),
        ("   ", "the pseudo is empty"),
        ("x" * (MAX_PSEUDO_LENGTH + 1), "the pseudo is 25 characters long; the most is 24"),
        ("evil\x1b[2J", "the pseudo holds control or invisible characters"),
        ("rtl\u202eevil", "the pseudo holds control or invisible characters"),
    ],
)
async def test_a_bad_pseudo_is_refused_and_the_client_may_retry(
    connect: ClientFactory, pseudo: str, reason: str
) -> None:
    client = await connect()
    await client.send(Hello(pseudo))
    assert await client.next_frame() == Error(ErrorCode.BAD_PSEUDO, reason)
    assert (await client.hello("x" * MAX_PSEUDO_LENGTH)).pseudo == "x" * MAX_PSEUDO_LENGTH


@pytest.mark.parametrize("room", ["", "r" * (MAX_ROOM_LENGTH + 1), "bell\x07"])
async def test_a_bad_room_name_is_refused_and_the_client_may_retry(connect: ClientFactory, room: str) -> None:
    client = await connect("alice")
    await client.send(EnterRoom(room))
    error = await client.next_frame()
    assert isinstance(error, Error) and error.code is ErrorCode.BAD_ROOM
    await client.enter("r" * MAX_ROOM_LENGTH)


async def test_colors_differ_within_a_room_while_the_palette_lasts(connect: ClientFactory) -> None:
    clients = [await connect(f"user{number}", "jeux") for number in range(len(PALETTE))]
    colors = {client.welcome.color for client in clients if client.welcome}
    assert colors == set(PALETTE)


# --- Rooms and relaying -------------------------------------------------------------------------


async def test_entering_is_announced_to_the_whole_room_only(connect: ClientFactory) -> None:
    alice = await connect("alice", "jeux")
    carol = await connect("carol", "general")
    bob = await connect("bob")
    await bob.send(EnterRoom("JEUX"))
    assert await bob.next_frame() == RoomEntered("jeux")
    history = await bob.next_frame()
    assert isinstance(history, History) and history.entries_json.startswith('{"room":"jeux","entries":[')
    joined = await bob.next_frame()
    assert isinstance(joined, Announcement) and joined.text == "Annonce : bob a rejoint la chatroom"
    assert await alice.next_frame() == joined
    await carol.expect_silence()


async def test_a_message_reaches_the_others_of_the_room_only(connect: ClientFactory) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    carol = await connect("carol", "general")
    await alice.next_frame()  # bob's arrival
    sent_at = now_ms()
    await alice.say("salut à tous")
    message = await bob.next_frame()
    assert isinstance(message, Message)
    assert alice.welcome is not None
    assert (message.pseudo, message.color, message.text) == ("alice", alice.welcome.color, "salut à tous")
    assert sent_at <= message.time_ms <= now_ms()
    await alice.expect_silence()
    await carol.expect_silence()


async def test_messages_arrive_in_order_and_blank_ones_are_dropped(connect: ClientFactory) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    for text in ["one", "   ", "two", "", "three"]:
        await alice.say(text)
    received = [await bob.next_frame() for _ in range(3)]
    assert [frame.text for frame in received if isinstance(frame, Message)] == ["one", "two", "three"]
    await bob.expect_silence()


async def test_leaving_is_announced_to_those_who_stay(connect: ClientFactory) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    carol = await connect("carol", "general")
    await alice.next_frame()  # bob's arrival
    await bob.close()
    left = await alice.next_frame()
    assert isinstance(left, Announcement) and left.text == "Annonce : bob a quitté la chatroom"
    await carol.expect_silence()


async def test_bye_closes_the_connection_and_is_announced(connect: ClientFactory) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    await alice.next_frame()  # bob's arrival
    await bob.send(Bye())
    assert await bob.expect_closed() == []
    left = await alice.next_frame()
    assert isinstance(left, Announcement) and left.text == "Annonce : bob a quitté la chatroom"


async def test_entering_another_room_moves_the_user(connect: ClientFactory) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    carol = await connect("carol", "general")
    await alice.next_frame()  # bob's arrival
    await bob.enter_quietly("general")
    arrival = await bob.next_frame()
    assert isinstance(arrival, Announcement) and arrival.text == "Annonce : bob arrive du salon jeux"
    left = await alice.next_frame()
    assert isinstance(left, Announcement) and left.text == "Annonce : bob passe dans le salon general"
    joined = await carol.next_frame()
    assert isinstance(joined, Announcement) and joined.text == "Annonce : bob arrive du salon jeux"
    await bob.say("me voici")
    message = await carol.next_frame()
    assert isinstance(message, Message) and message.text == "me voici"
    await alice.expect_silence()


async def test_a_bad_image_is_refused_without_dropping_the_client(connect: ClientFactory) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    await alice.next_frame()  # bob's arrival
    await alice.send(SendImage(b"\x89PNG"))
    assert await alice.next_frame() == Error(ErrorCode.BAD_IMAGE, "this is not a PNG or JPEG image")
    await alice.say("still here")
    message = await bob.next_frame()
    assert isinstance(message, Message) and message.text == "still here"
    await bob.expect_silence()


# --- Bad clients are dropped, the others carry on -------------------------------------------------


@pytest.mark.parametrize(
    ("garbage", "code"),
    [
        (bytes((FrameType.SAY, 4, 0xFF, 0xFF, 0xFF, 0xFF)), ErrorCode.TOO_LARGE),
        (bytes((FrameType.SAY, 1, 2, 0xC3, 0x28)), ErrorCode.BAD_UTF8),
        (b"\x42\x01\x00", ErrorCode.BAD_FRAME),
        (b"\x03\x03\x00", ErrorCode.BAD_FRAME),
        (encode(Message(0, "fake", "#000000", "server frame")), ErrorCode.UNEXPECTED_FRAME),
        (encode(Hello("again")), ErrorCode.UNEXPECTED_FRAME),
    ],
    ids=["huge length", "bad utf-8", "unknown type", "bad width", "server frame", "second hello"],
)
async def test_a_client_sending_garbage_gets_an_error_and_is_dropped(
    connect: ClientFactory, garbage: bytes, code: ErrorCode
) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    mallory = await connect("mallory", "jeux")
    await alice.next_frame(), await alice.next_frame(), await bob.next_frame()  # arrivals
    await mallory.send_raw(garbage)
    frames = await mallory.expect_closed()
    assert len(frames) == 1 and isinstance(frames[0], Error) and frames[0].code is code
    for witness in (alice, bob):
        left = await witness.next_frame()
        assert isinstance(left, Announcement) and left.text == "Annonce : mallory a quitté la chatroom"
    await alice.say("on continue")
    message = await bob.next_frame()
    assert isinstance(message, Message) and message.text == "on continue"


@pytest.mark.parametrize(
    ("frame", "text"),
    [(Say("too early"), "SAY before ENTER_ROOM"), (EnterRoom("jeux"), "ENTER_ROOM before HELLO")],
)
async def test_frames_out_of_order_are_unexpected(
    connect: ClientFactory, frame: Say | EnterRoom, text: str
) -> None:
    client = await connect()
    await client.send(frame)
    assert await client.expect_closed() == [Error(ErrorCode.UNEXPECTED_FRAME, text)]


async def test_good_frames_before_the_garbage_are_still_handled(connect: ClientFactory) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    await alice.next_frame()  # bob's arrival
    await bob.send_raw(encode(Say("last words")) + b"\xff")
    message = await alice.next_frame()
    assert isinstance(message, Message) and message.text == "last words"
    assert await bob.expect_closed() == [Error(ErrorCode.BAD_FRAME, "unknown frame type 0xff")]


async def test_a_client_that_vanishes_mid_frame_is_dropped_cleanly(connect: ClientFactory) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    await alice.next_frame()  # bob's arrival
    await bob.send_raw(encode(Say("never finished"))[:-3])
    await bob.close()
    left = await alice.next_frame()
    assert isinstance(left, Announcement) and left.text == "Annonce : bob a quitté la chatroom"


# --- Stopping, console logs and the conversation log ----------------------------------------------


async def test_stop_sends_closing_to_everyone(chat_server: ChatServer, connect: ClientFactory) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    lurker = await connect()
    await alice.next_frame()  # bob's arrival
    await chat_server.stop("maintenance")
    for client in (alice, bob, lurker):
        assert await client.expect_closed() == [Closing("maintenance")]
    assert chat_server.address is not None
    with pytest.raises(OSError):
        await FrameClient.connect(*chat_server.address)


async def test_console_logs_show_peer_text_made_printable(
    connect: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="chatlib.app.server")
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    await alice.next_frame()  # bob's arrival
    await alice.say("\x1b[2Jcleared?")
    await bob.next_frame()
    await bob.close()
    await alice.next_frame()  # bob's departure
    messages = [
        record.getMessage() for record in caplog.records if record.name.startswith("chatlib.app.server")
    ]
    alice_address = next(
        message.removeprefix("connection from ")
        for message in messages
        if message.startswith("connection from")
    )
    assert f"{alice_address} is alice" in messages
    assert f"message received from alice ({alice_address}) in jeux: ␛[2Jcleared?" in messages
    assert any(re.fullmatch(r"message sent to bob \(127\.0\.0\.1:\d+\)", message) for message in messages)
    assert any(re.fullmatch(r"disconnection of bob \(127\.0\.0\.1:\d+\)", message) for message in messages)
    assert not any("\x1b" in message for message in messages)


async def test_the_conversation_log_has_arrivals_messages_and_departures(
    chat_server: ChatServer, connect: ClientFactory, log_dir: Path
) -> None:
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    await alice.next_frame()  # bob's arrival
    await alice.say("salut bob")
    await bob.next_frame()
    await bob.say("salut\x1b[31m alice")
    await alice.next_frame()
    await bob.close()
    await alice.next_frame()  # bob's departure
    await chat_server.stop()
    lines = (log_dir / "server.log").read_text(encoding="utf-8").splitlines()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
    address = r"\(127\.0\.0\.1:\d+\)"
    expected = [
        rf"alice arrived {address}",
        r"\[jeux\] alice entered the room",
        rf"bob arrived {address}",
        r"\[jeux\] bob entered the room",
        r"\[jeux\] alice a dit : salut bob",
        r"\[jeux\] bob a dit : salut␛\[31m alice",
        r"\[jeux\] bob left the room",
        rf"bob departed {address}, connected for 0 min \d\d s",
        r"\[jeux\] alice left the room",
        rf"alice departed {address}, connected for 0 min \d\d s",
    ]
    assert len(lines) == len(expected), lines
    for line, pattern in zip(lines, expected):
        assert re.fullmatch(stamp + pattern, line), line


async def test_async_with_stops_the_server_at_the_end_of_the_block() -> None:
    async with ChatServer() as server:
        host, port = await server.start("127.0.0.1", 0)
        client = await FrameClient.connect(host, port)
        await client.hello("alice")
    assert await client.expect_closed() == [Closing("server shutting down")]
    await client.close()
    await server.serve_forever()  # returns at once: the server is stopped
