"""Hostile and broken clients over loopback, each while alice and bob keep chatting undisturbed.

Each test plays one adversary against the server of ``conftest.py`` (short limits), checks
exactly what the adversary is told and that it is disconnected, and the ``conversation``
fixture checks that alice and bob received every line of each other, in order, throughout.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from pathlib import Path

import pytest

from chatlib.app.protocol import (
    Announcement,
    Closing,
    EnterRoom,
    Error,
    ErrorCode,
    Frame,
    FrameType,
    Hello,
    Message,
    Ping,
    Pong,
    Say,
    encode,
)
from chatlib.app.server.chat_server import ChatServer
from tests.app.conftest import TIMEOUT, FrameClient
from tests.hardening.conftest import TEST_LIMITS, Conversation, adversary, join


def control_frames(frames: list[Frame]) -> list[Frame]:
    """The frames that are not the room's chatter (messages and announcements)."""
    return [frame for frame in frames if not isinstance(frame, (Message, Announcement))]


def texts(frames: list[Frame]) -> list[str]:
    """The announcement texts among frames."""
    return [frame.text for frame in frames if isinstance(frame, Announcement)]


async def test_a_huge_length_header_is_refused_before_any_payload(
    server: ChatServer, conversation: Conversation
) -> None:
    mallory = await adversary(server)
    await mallory.send_raw(bytes((FrameType.SAY, 4)) + struct.pack(">I", 0xFFFFFFFF))
    frames = await mallory.expect_closed()
    assert frames == [Error(ErrorCode.TOO_LARGE, "SAY of 4294967295 bytes is over its limit of 4096")]
    await conversation.keeps_going()


async def test_a_stranger_cannot_make_the_server_buffer_a_large_frame(
    server: ChatServer, conversation: Conversation
) -> None:
    mallory = await adversary(server)
    await mallory.send_raw(
        bytes((FrameType.IMAGE, 4)) + (2 * 1024 * 1024).to_bytes(4, "big") + b"\x89PNG" * 1000
    )
    frames = await mallory.expect_closed()
    assert frames == [Error(ErrorCode.TOO_LARGE, "only a HELLO is expected before a pseudo is accepted")]
    await conversation.keeps_going()


async def test_a_truncated_frame_then_silence_is_pinged_then_dropped(
    server: ChatServer, conversation: Conversation
) -> None:
    mallory = await join(server, "mallory")
    await mallory.send_raw(bytes((FrameType.SAY, 1, 200)) + b"only the beginning")
    frames = control_frames(await mallory.expect_closed())
    assert frames == [
        Ping(),
        Error(ErrorCode.TIMEOUT, f"no answer to PING within {TEST_LIMITS.pong_timeout:g} s"),
    ]
    await conversation.keeps_going()
    assert "Annonce : mallory a quitté la chatroom" in texts(conversation.others["alice"])


async def test_invalid_utf8_gets_bad_utf8_and_only_that_client_goes(
    server: ChatServer, conversation: Conversation
) -> None:
    mallory = await join(server, "mallory")
    await mallory.send_raw(bytes((FrameType.SAY, 1, 4)) + b"ok\xff\xfe")
    frames = control_frames(await mallory.expect_closed())
    assert frames == [Error(ErrorCode.BAD_UTF8, "text is not valid UTF-8 (invalid start byte)")]
    await conversation.keeps_going()
    assert "Annonce : mallory a quitté la chatroom" in texts(conversation.others["alice"])


async def test_a_hello_that_never_comes_times_out(server: ChatServer, conversation: Conversation) -> None:
    mallory = await adversary(server)
    frames = await mallory.expect_closed()
    assert frames == [Error(ErrorCode.TIMEOUT, f"no HELLO accepted within {TEST_LIMITS.hello_timeout:g} s")]
    await conversation.keeps_going()


async def test_a_silent_client_that_answers_ping_stays(
    server: ChatServer, conversation: Conversation
) -> None:
    quiet = await join(server, "quiet")
    for _ in range(3):  # three idle periods in a row, each answered
        while not isinstance(await quiet.next_frame(), Ping):
            pass
        await quiet.send(Pong())
    await quiet.say("still here")
    await conversation.keeps_going()
    assert quiet.writer.transport is not None and not quiet.writer.is_closing()


@pytest.mark.limits(rate_limit=None)
async def test_a_client_that_never_reads_is_dropped_while_another_floods_its_room(
    server: ChatServer, conversation: Conversation, caplog: pytest.LogCaptureFixture
) -> None:
    assert server.address is not None
    sleeper = await adversary(server)
    await sleeper.hello("sleeper")
    await sleeper.enter("flood")
    flooder = await join(server, "flooder", "flood")
    chunk = encode(Say("x" * 4000)) * 100
    with caplog.at_level(logging.WARNING, logger="chatlib.app.server"):
        for _ in range(40):  # 16 MB for the room: far over the sleeper's 256 KiB and its socket buffers
            await flooder.send_raw(chunk)
            if not server_has(server, "sleeper"):
                break
        assert await wait_for_announcement(flooder, "Annonce : sleeper a quitté la chatroom")
    assert any(
        "dropping sleeper" in record.getMessage() and "do not read fast enough" in record.getMessage()
        for record in caplog.records
    )
    last = (await sleeper.expect_closed(timeout=TIMEOUT))[-1]  # the sleeper wakes up: the ERROR is there
    assert last == Error(
        ErrorCode.TOO_SLOW,
        f"you do not read fast enough: more than {TEST_LIMITS.max_queued_bytes} bytes waiting to be read",
    )
    await conversation.keeps_going()
    assert server_has(server, "flooder")


def server_has(server: ChatServer, pseudo: str) -> bool:
    """Whether ``pseudo`` is still connected."""
    user = server.users.find(pseudo)
    return user is not None and user.connected


async def wait_for_announcement(client: FrameClient, text: str) -> bool:
    """Read ``client``'s frames until the announcement ``text`` (other frames are skipped)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            frame = await client.next_frame()
            if isinstance(frame, Announcement) and frame.text == text:
                return True


@pytest.mark.limits(idle_timeout=3.0, pong_timeout=3.0)  # a busy machine must not make it a TIMEOUT
async def test_a_flood_is_slowed_then_disconnected_with_rate_limited(
    server: ChatServer, conversation: Conversation
) -> None:
    limit = TEST_LIMITS.rate_limit
    assert limit is not None
    flooder = await join(server, "flooder")
    await flooder.send_raw(b"".join(encode(Say(f"spam {number}")) for number in range(1000)))
    frames = await flooder.expect_closed()
    assert frames[-1] == Error(
        ErrorCode.RATE_LIMITED,
        f"too many messages: more than {limit.per_second:g} messages per second for too long "
        f"({limit.max_delayed} slowed down in a row)",
    )
    await conversation.keeps_going()
    for pseudo in ("alice", "bob"):
        spam = [
            frame.text
            for frame in conversation.others[pseudo]
            if isinstance(frame, Message) and frame.pseudo == "flooder"
        ]
        relayed = len(spam)
        assert spam == [f"spam {number}" for number in range(relayed)]
        assert (  # the burst, less the tokens its HELLO and ENTER_ROOM took, then the slowed ones
            limit.burst - 2 + limit.max_delayed
            <= relayed
            <= limit.burst + limit.max_delayed + limit.per_second * 0.1
        )


@pytest.mark.limits(idle_timeout=3.0, pong_timeout=3.0)  # a busy machine must not make it a TIMEOUT
async def test_hopping_between_rooms_counts_against_the_rate_limit(
    server: ChatServer, conversation: Conversation
) -> None:
    hopper = await join(server, "hopper", "elsewhere")
    hops = b"".join(encode(EnterRoom(room)) for _ in range(500) for room in ("general", "elsewhere"))
    await hopper.send_raw(hops)  # each hop would be announced to everyone in general
    frames = await hopper.expect_closed()
    assert isinstance(frames[-1], Error) and frames[-1].code is ErrorCode.RATE_LIMITED
    await conversation.keeps_going()
    arrivals = texts(conversation.others["alice"]).count("Annonce : hopper a rejoint la chatroom")
    limit = TEST_LIMITS.rate_limit
    assert limit is not None
    assert arrivals <= (limit.burst + limit.max_delayed + limit.per_second * 0.1) / 2 + 1


async def test_escape_sequences_never_reach_a_log_raw(
    server: ChatServer, conversation: Conversation, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mallory = await adversary(server)
    await mallory.send(Hello("\x1b]0;pwned\x07"))
    assert await mallory.next_frame() == Error(
        ErrorCode.BAD_PSEUDO, "the pseudo holds control or invisible characters"
    )
    await mallory.hello("mallory")
    await mallory.enter("general")
    nasty = "\x1b[2J\x1b]0;pwned\x07\x9b31m\u202eevil\r\nforged line"
    with caplog.at_level(logging.INFO, logger="chatlib.app.server"):
        await mallory.say(nasty)
        await mallory.sync()
    await conversation.keeps_going()
    for pseudo in ("alice", "bob"):  # relayed as sent: each client's display neutralises it
        relayed = [
            frame.text
            for frame in conversation.others[pseudo]
            if isinstance(frame, Message) and frame.pseudo == "mallory"
        ]
        assert relayed == [nasty]
    console = [record.getMessage() for record in caplog.records if "mallory" in record.getMessage()]
    assert any("␛[2J␛]0;pwned␇\\x9b31m\\u202eevil␍␊forged line" in line for line in console), console
    await server.save()  # the conversation log is written in batches
    log_text = (tmp_path / "logs" / "server.log").read_text(encoding="utf-8")
    assert "mallory a dit : ␛[2J␛]0;pwned␇\\x9b31m\\u202eevil␍␊forged line" in log_text
    assert not any(character in log_text for character in "\x1b\x07\x9b\u202e\r")


async def test_connections_over_the_per_ip_limit_get_server_full(
    server: ChatServer, conversation: Conversation
) -> None:
    per_ip = TEST_LIMITS.max_connections_per_ip
    crowd = [await adversary(server, "127.0.0.2") for _ in range(per_ip)]
    await crowd[-1].hello("last-of-the-crowd")  # the server has them all
    one_too_many = await adversary(server, "127.0.0.2")
    assert await one_too_many.expect_closed() == [
        Error(ErrorCode.SERVER_FULL, f"too many connections from 127.0.0.2 (at most {per_ip})")
    ]
    other_address = await adversary(server, "127.0.0.3")
    await other_address.hello("carol")
    await conversation.keeps_going()
    for client in crowd:
        await client.close()


@pytest.mark.limits(max_connections=6)
async def test_connections_over_the_total_limit_get_server_full(
    server: ChatServer, conversation: Conversation
) -> None:
    others = [await adversary(server, f"127.0.1.{number}") for number in range(1, 5)]  # 2 + 4 = 6
    await others[-1].hello("sixth")
    refused = await adversary(server, "127.0.2.1")
    assert await refused.expect_closed() == [
        Error(ErrorCode.SERVER_FULL, "the server is full (6 connections)")
    ]
    await others[0].close()
    await wait_until(lambda: server.connection_count == 5)
    welcome = await adversary(server, "127.0.2.1")
    await welcome.hello("a place freed")
    await conversation.keeps_going()


async def wait_until(condition: object, timeout: float = TIMEOUT) -> None:
    """Wait (polling the loop) until ``condition()`` holds."""
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_an_abrupt_reset_mid_frame_only_drops_that_client(
    server: ChatServer, conversation: Conversation
) -> None:
    mallory = await join(server, "mallory")
    await mallory.send_raw(bytes((FrameType.SAY, 1, 100)) + b"half a mess")
    sock = mallory.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    mallory.writer.transport.abort()  # with SO_LINGER 0: a RST, not a FIN
    await wait_until(lambda: not server_has(server, "mallory"))
    await conversation.keeps_going()
    assert "Annonce : mallory a quitté la chatroom" in texts(conversation.others["alice"])


async def test_shutdown_tells_everyone_closing(server: ChatServer) -> None:
    alice = await join(server, "alice")
    sleeper = await join(server, "sleeper", "other")
    await server.stop("maintenance")
    assert (await alice.expect_closed())[-1] == Closing("maintenance")
    assert (await sleeper.expect_closed())[-1] == Closing("maintenance")


async def test_enter_room_with_a_bad_character_is_refused(server: ChatServer) -> None:
    alice = await join(server, "alice")
    await alice.send(EnterRoom("salle<script>"))
    assert await alice.next_frame() == Error(
        ErrorCode.BAD_ROOM, "the room name may hold only letters, digits, spaces and _ - . ' (not '<')"
    )
