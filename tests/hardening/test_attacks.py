"""The attacks of ``attacks.py``, small and fast: what each attacker is told, and that the others
carry on (alice and bob keep chatting through each, see conftest.py).

Costly images, floods of frames of every kind, reconnecting in a loop, half-sent frames and
unread output beyond the server's memory budget, registering pseudos and opening rooms without
end. The figures (latency, memory, rates) are the attack commands': ``python -m
tests.hardening.attacks NAME``.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from chatlib.app.client.display import LineKind
from chatlib.app.protocol import (
    Announcement,
    EnterRoom,
    Error,
    ErrorCode,
    FrameType,
    Hello,
    ImageFrom,
    Message,
    Pong,
    Say,
    SendImage,
    encode,
)
from chatlib.app.protocol.history import HistoryEntry
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.server.history import MAX_IDLE_ROOMS, MAX_ROOM_TEXT_BYTES, ChatHistory
from chatlib.app.server.ratelimit import Allowance
from chatlib.app.server.users import KnownUsers
from chatlib.app.shared.image_worker import ImageWorker
from chatlib.app.shared.images import (
    MAX_JPEG_SCANS,
    MAX_JPEG_SEGMENTS,
    BadImage,
    check_and_render,
    check_image,
    check_jpeg_structure,
)
from chatlib.app.shared.sample_image import sample_png
from tests.app.client_fixtures import ScriptedUser
from tests.app.conftest import TIMEOUT, FrameClient
from tests.app.test_client_session import run_against
from tests.hardening.conftest import TEST_LIMITS, Conversation, adversary, join
from tests.hardening.jpeg_bombs import progressive_jpeg, scan_count

MiB = 1024 * 1024
TOO_MANY_SCANS = (
    f"the JPEG image has more than {MAX_JPEG_SCANS} scans (progressive passes), too costly to decode"
)
TOO_MANY_SCANS_PATTERN = f"^{re.escape(TOO_MANY_SCANS)}$"


def flooding_error() -> Error:
    """The ERROR that ends a flood under the test limits."""
    limit = TEST_LIMITS.rate_limit
    assert limit is not None
    return Error(
        ErrorCode.RATE_LIMITED,
        f"too many messages: more than {limit.per_second:g} messages per second for too long "
        f"({limit.max_delayed} slowed down in a row)",
    )


async def until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds: for server state that no frame announces."""
    async with asyncio.timeout(TIMEOUT):
        while not condition():
            await asyncio.sleep(0.01)


# --- Images -------------------------------------------------------------------------------------


def test_a_jpeg_s_scans_are_counted_from_its_markers_alone() -> None:
    most = progressive_jpeg(64, MAX_JPEG_SCANS - 10)
    assert scan_count(most) == MAX_JPEG_SCANS
    check_jpeg_structure(most)
    with pytest.raises(BadImage, match=TOO_MANY_SCANS_PATTERN):
        check_jpeg_structure(progressive_jpeg(64, MAX_JPEG_SCANS - 9))
    with_fill_bytes = most.replace(b"\xff\xda", b"\xff\xff\xff\xda")  # fill bytes before each marker
    check_jpeg_structure(with_fill_bytes)
    with pytest.raises(BadImage, match=TOO_MANY_SCANS_PATTERN):
        check_jpeg_structure(
            with_fill_bytes[:-2] + with_fill_bytes[with_fill_bytes.rindex(b"\xff\xff\xff\xda") :]
        )


def test_restart_markers_inside_a_scan_are_not_scans() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, "JPEG", progressive=True, restart_marker_blocks=1)
    data = buffer.getvalue()
    assert sum(data.count(bytes((0xFF, marker))) for marker in range(0xD0, 0xD8)) > MAX_JPEG_SCANS
    assert check_image(data).size == len(data)


def test_a_jpeg_made_of_segments_is_refused() -> None:
    comment = b"\xff\xfe\x00\x04hi"
    data = b"\xff\xd8" + comment * (MAX_JPEG_SEGMENTS + 1) + progressive_jpeg(64)[2:]
    with pytest.raises(BadImage, match=f"^the JPEG image has more than {MAX_JPEG_SEGMENTS} segments$"):
        check_image(data)


def test_a_picture_is_drawn_from_one_decoding_at_a_reduced_scale() -> None:
    facts, art = check_and_render(progressive_jpeg(4096), 40, monochrome=True)
    assert (facts.format, facts.width, facts.height) == ("JPEG", 4096, 4096)
    assert {len(line) for line in art.splitlines()} == {40}


async def test_the_image_worker_stops_a_decoding_at_its_deadline_and_starts_afresh() -> None:
    worker = ImageWorker(timeout=0.05, max_waiting=1)
    try:
        with pytest.raises(BadImage, match=r"^the image took more than 0\.05 s to decode$"):
            await worker.run(check_image, progressive_jpeg(4096, MAX_JPEG_SCANS - 10))
        slow = asyncio.create_task(worker.run(check_image, progressive_jpeg(4096, MAX_JPEG_SCANS - 10)))
        await until(lambda: worker.waiting == 1)
        with pytest.raises(
            BadImage, match="^1 images are waiting to be decoded already; try again in a moment$"
        ):
            await worker.run(check_image, sample_png())
        with pytest.raises(BadImage):
            await slow
        worker.timeout = TIMEOUT
        assert (await worker.run(check_image, sample_png())).format == "PNG"
    finally:
        worker.close()
    with pytest.raises(BadImage, match=r"^images are no longer decoded here \(shutting down\)$"):
        await worker.run(check_image, sample_png())


async def test_a_jpeg_with_thousands_of_scans_is_refused_before_it_is_decoded(
    server: ChatServer, conversation: Conversation
) -> None:
    mallory = await join(server, "mallory", "bombs")
    await mallory.send(SendImage(progressive_jpeg(4096, 30_000)))
    assert await mallory.next_frame() == Error(ErrorCode.BAD_IMAGE, TOO_MANY_SCANS)
    await conversation.keeps_going()


@pytest.mark.limits(image_timeout=0.05)
async def test_an_image_too_slow_to_check_is_refused(server: ChatServer, conversation: Conversation) -> None:
    mallory = await join(server, "mallory", "bombs")
    await mallory.send(SendImage(progressive_jpeg(4096, MAX_JPEG_SCANS - 10)))
    assert await mallory.next_frame() == Error(
        ErrorCode.BAD_IMAGE, "the image took more than 0.05 s to decode"
    )
    await conversation.keeps_going()


async def test_images_being_checked_never_delay_saving(tmp_path: Path) -> None:
    """Eight costly images (more than asyncio's default threads here), checked one after the other:
    the history is saved meanwhile, before any of them is done."""
    data_dir = tmp_path / "data"
    server = ChatServer(
        data_dir=data_dir, limits=replace(TEST_LIMITS, image_timeout=60.0, max_images_waiting=20)
    )
    await server.start("127.0.0.1", 0)
    try:
        alice = await join(server, "alice")
        await alice.say("saved while images are checked")
        senders = [await join(server, f"sender{number}", "bombs") for number in range(8)]
        bomb = progressive_jpeg(4096, MAX_JPEG_SCANS - 10)  # about 0.6 s to check
        for sender in senders:
            await sender.send(SendImage(bomb))
        await until(lambda: server.images_waiting == 8)  # all eight handed to the image worker
        await server.save()
        saved = (data_dir / "history.jsonl").read_text(encoding="utf-8")
        assert "saved while images are checked" in saved
        assert not [entry for entry in server.history.recent("bombs") if entry.kind == "image"]
    finally:
        async with asyncio.timeout(3 * TIMEOUT):
            await server.stop()


async def test_a_client_shows_what_follows_an_image_without_waiting_for_its_drawing() -> None:
    async def image_then_message(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(encode(ImageFrom(0, "bob", "#1f77b4", progressive_jpeg(4096, MAX_JPEG_SCANS - 10))))
        writer.write(encode(Message(0, "bob", "#1f77b4", "did you see it?")))
        await user.wait_for_line(lambda line: line.kind is LineKind.PICTURE)
        writer.close()

    user = ScriptedUser()
    await run_against(image_then_message, user)
    kinds = [
        line.kind for line in user.lines if line.kind in {LineKind.MESSAGE, LineKind.IMAGE, LineKind.PICTURE}
    ]
    assert kinds == [LineKind.MESSAGE, LineKind.IMAGE, LineKind.PICTURE]


# --- Floods of frames, and of connections -------------------------------------------------------


async def test_a_flood_of_pongs_is_slowed_then_disconnected(
    server: ChatServer, conversation: Conversation
) -> None:
    mallory = await join(server, "mallory")
    await mallory.send_raw(encode(Pong()) * 2000)
    assert (await mallory.expect_closed())[-1] == flooding_error()
    await conversation.keeps_going()


async def test_refused_hellos_in_a_loop_are_slowed_then_disconnected(
    server: ChatServer, conversation: Conversation
) -> None:
    limit = TEST_LIMITS.rate_limit
    assert limit is not None
    mallory = await adversary(server)
    await mallory.send_raw(encode(Hello("alice", "")) * 500)  # alice is connected: each is refused
    frames = await mallory.expect_closed()
    assert frames[-1] == flooding_error()
    refusals = frames[:-1]
    assert set(refusals) == {Error(ErrorCode.PSEUDO_TAKEN, "the pseudo alice is already in use")}
    assert limit.burst + limit.max_delayed - 1 <= len(refusals) <= limit.burst + limit.max_delayed + 2
    await conversation.keeps_going()


@pytest.mark.limits(connect_rate=Allowance(per_second=0.5, burst=3))
async def test_reconnecting_in_a_loop_is_refused_after_a_burst(
    server: ChatServer, conversation: Conversation
) -> None:
    for _ in range(3):
        allowed = await adversary(server, "127.0.0.3")
        await allowed.hello(f"user{_}")
        await allowed.close()
    refused = await adversary(server, "127.0.0.3")
    assert await refused.expect_closed() == [
        Error(
            ErrorCode.RATE_LIMITED,
            "too many connections from 127.0.0.3 in a short time (at most 0.5 a second after the first 3); "
            "try again in a moment",
        )
    ]
    elsewhere = await adversary(server, "127.0.0.4")  # another address has its own allowance
    assert (await elsewhere.hello("carol")).pseudo == "carol"
    await conversation.keeps_going()


# --- The server's memory budget ------------------------------------------------------------------


def image_start(size: int = 2 * MiB) -> bytes:
    """The header of an IMAGE of ``size`` bytes: what follows is its payload."""
    return bytes((FrameType.IMAGE, 4)) + size.to_bytes(4, "big")


@pytest.mark.limits(max_buffered_bytes=3 * MiB)
async def test_half_sent_frames_beyond_the_memory_budget_are_refused(
    server: ChatServer, conversation: Conversation
) -> None:
    frame_size = 6 + 1400 * 1024
    holders = [await join(server, f"holder{number}", "holders") for number in range(2)]
    for holder in holders:
        await holder.send_raw(image_start(1400 * 1024) + b"\xff" * (1400 * 1024 - 1))
    await until(lambda: server.buffered_bytes == 2 * frame_size)
    third = await join(server, "third", "holders")
    await third.send_raw(image_start())  # its header alone: the server has no room for what it announces
    assert (await third.expect_closed())[-1] == Error(
        ErrorCode.SERVER_FULL,
        "the server is full: it holds 3 MiB for its clients already, so it cannot take your frame now "
        "(try again later)",
    )
    assert server.buffered_bytes == 2 * frame_size
    for holder in holders:
        await holder.close()
    await until(lambda: server.buffered_bytes == 0)  # given back when they go
    await conversation.keeps_going()


async def test_a_frame_counts_against_the_memory_budget_at_the_size_its_header_announces(
    server: ChatServer, conversation: Conversation
) -> None:
    sender = await join(server, "sender", "images")
    await sender.send_raw(image_start())  # 6 bytes, announcing 2 MiB: counted as 2 MiB from now on
    await until(lambda: server.buffered_bytes == 6 + 2 * MiB)
    await sender.close()
    await until(lambda: server.buffered_bytes == 0)
    await conversation.keeps_going()


@pytest.mark.limits(max_buffered_bytes=MiB, close_grace=0.5)
async def test_a_dropped_client_is_read_no_more_past_a_few_kilobytes(
    server: ChatServer, conversation: Conversation
) -> None:
    sender = await join(server, "sender", "images")
    await sender.send_raw(image_start())  # 2 MiB announced: refused from its header on
    assert await sender.next_frame() == Error(
        ErrorCode.SERVER_FULL,
        "the server is full: it holds 1 MiB for its clients already, so it cannot take your frame now "
        "(try again later)",
    )
    sent = 0
    with suppress(ConnectionError):  # the server aborts the connection at the end of its grace
        while sent < 64 * MiB:
            await sender.send_raw(b"\xff" * MiB)  # waits while nobody reads
            sent += MiB
    assert sent < 16 * MiB, "what the kernel's buffers hold, not what the server read and dropped"
    await conversation.keeps_going()


@pytest.mark.limits(max_buffered_bytes=1 * MiB, max_queued_bytes=8 * MiB, rate_limit=None)
async def test_unread_output_beyond_the_memory_budget_drops_a_slow_reader(
    server: ChatServer, conversation: Conversation
) -> None:
    sleepers = []
    for number in range(3):
        sleeper = await adversary(server)
        await sleeper.hello(f"sleeper{number}")
        await sleeper.enter("flood")
        sleepers.append(sleeper)
    flooder = await join(server, "flooder", "flood")
    chunk = encode(Say("x" * 4000)) * 100
    dropped = asyncio.Event()

    async def watch_departures() -> None:
        while not dropped.is_set():
            frame = await flooder.next_frame()
            if isinstance(frame, Announcement) and "quitté" in frame.text:
                dropped.set()

    watching = asyncio.create_task(watch_departures())
    async with asyncio.timeout(4 * TIMEOUT):
        while not dropped.is_set():
            await flooder.send_raw(chunk)
    watching.cancel()
    dropped_sleepers = [sleeper for sleeper in sleepers if not server_has(server, sleeper)]
    assert dropped_sleepers
    last = (await dropped_sleepers[0].expect_closed(TIMEOUT))[-1]  # it wakes up: the ERROR is there
    assert isinstance(last, Error) and last.code is ErrorCode.TOO_SLOW
    assert last.text.startswith(
        "you do not read fast enough: the server holds 1 MiB for its clients already, "
    )
    await conversation.keeps_going()


def server_has(server: ChatServer, client: FrameClient) -> bool:
    """Whether ``client``'s user is still connected."""
    assert client.welcome is not None
    user = server.users.find(client.welcome.pseudo)
    return user is not None and user.connected


# --- Users and rooms ------------------------------------------------------------------------------


@pytest.mark.limits(registration_rate=Allowance(per_second=1 / 3600, burst=2))
async def test_new_pseudos_from_one_address_are_limited_but_known_users_come_back(
    server: ChatServer, conversation: Conversation
) -> None:
    tokens = {}
    for pseudo in ("carol", "dave"):
        client = await adversary(server, "127.0.0.5")
        tokens[pseudo] = (await client.hello(pseudo)).token
        await client.close()
    eve = await adversary(server, "127.0.0.5")
    await eve.send(Hello("eve", ""))
    assert await eve.expect_closed() == [
        Error(
            ErrorCode.RATE_LIMITED,
            "too many new pseudos from 127.0.0.5 (at most 2, then 1 an hour); come back as a user you "
            "already are, or later",
        )
    ]
    carol = await adversary(server, "127.0.0.5")
    assert (await carol.hello("carol", tokens["carol"])).returning
    await conversation.keeps_going()


@pytest.mark.limits(max_known_users=3)
async def test_the_number_of_known_users_is_bounded(server: ChatServer, conversation: Conversation) -> None:
    carol = await adversary(server)
    await carol.hello("carol")  # alice, bob and carol: the most
    dave = await adversary(server)
    await dave.send(Hello("dave", ""))
    assert await dave.expect_closed() == [
        Error(
            ErrorCode.SERVER_FULL,
            "the server knows 3 users, the most it keeps, and registers no new pseudo (known users can "
            "still come back with their token)",
        )
    ]
    await conversation.keeps_going()


@pytest.mark.limits(max_rooms=3)
async def test_the_number_of_rooms_is_bounded(server: ChatServer, conversation: Conversation) -> None:
    others = [await join(server, "carol", "jeux"), await join(server, "dave", "musique")]
    eve = await join(server, "eve", "jeux")  # general, jeux and musique: the most
    await eve.send(EnterRoom("cinéma"))
    assert await eve.next_frame() == Error(
        ErrorCode.BAD_ROOM, "there are 3 rooms already, the most; enter one of them"
    )
    assert (await eve.enter_quietly("musique")).room == "musique"  # an existing room will do
    await conversation.keeps_going()
    del others


@pytest.mark.limits(rate_limit=None)
async def test_the_histories_of_rooms_nobody_is_in_are_forgotten_but_the_last_ones(
    server: ChatServer, conversation: Conversation
) -> None:
    hopper = await join(server, "hopper", "room 0")
    hops = MAX_IDLE_ROOMS + 20
    await hopper.send_raw(b"".join(encode(EnterRoom(f"room {number}")) for number in range(1, hops + 1)))
    await hopper.send(EnterRoom(""))  # refused: once it is, every hop before it is done
    async with asyncio.timeout(TIMEOUT):
        while not isinstance(await hopper.next_frame(), Error):
            pass
    assert len(server.history) <= MAX_IDLE_ROOMS + 2  # the idle ones kept, general, the hopper's
    assert server.history.recent(f"room {hops - 1}") and not server.history.recent("room 0")
    assert server.history.recent("general")  # a permanent room keeps its history
    await conversation.keeps_going()


def test_a_room_keeps_its_last_entries_within_a_size() -> None:
    history = ChatHistory(length=50)
    history.keep("jeux")
    long_text = "x" * 4000
    for number in range(50):
        history.record("jeux", HistoryEntry.message(number, "bob", "#1f77b4", f"{number} {long_text}"))
    kept = history.recent("jeux")
    assert sum(len(entry.text) for entry in kept) <= MAX_ROOM_TEXT_BYTES
    assert kept[-1].text.startswith("49 ") and len(kept) == MAX_ROOM_TEXT_BYTES // 4004


def test_the_colors_in_use_are_counted_as_users_come_and_go() -> None:
    users = KnownUsers()
    alice, _ = users.register("alice", "#d62728", 0)
    bob, _ = users.register("bob", "#d62728", 0)
    users.connect(alice)
    users.connect(alice)  # counted once
    users.connect(bob)
    assert users.colors_in_use()["#d62728"] == 2
    users.disconnect(alice)
    assert users.colors_in_use()["#d62728"] == 1 and not alice.connected
