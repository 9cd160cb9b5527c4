"""Images over loopback: checked by the server, relayed to the room, kept as a placeholder in history."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatlib.app.protocol import Announcement, Error, ErrorCode, FrameType, ImageFrom, Message, SendImage
from chatlib.app.protocol.history import HistoryEntry, ImageFacts
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.shared.images import MAX_IMAGE_BYTES, render_ascii_art
from chatlib.app.shared.sample_image import SAMPLE_SIZE, sample_png
from tests.app.conftest import ClientFactory, FrameClient
from tests.app.image_samples import bomb_png, gif, jpeg, truncated


async def room_of_three(connect: ClientFactory) -> tuple[FrameClient, FrameClient, FrameClient]:
    """alice and bob in "jeux" (arrivals read), carol in "general"."""
    alice = await connect("alice", "jeux")
    bob = await connect("bob", "jeux")
    carol = await connect("carol", "general")
    await alice.next_frame()  # bob's arrival
    return alice, bob, carol


@pytest.mark.parametrize("data", [sample_png(), jpeg((40, 30))], ids=["png", "jpeg"])
async def test_an_image_is_relayed_to_the_others_of_the_room(connect: ClientFactory, data: bytes) -> None:
    alice, bob, carol = await room_of_three(connect)
    await alice.send(SendImage(data))
    relayed = await bob.next_frame()
    assert isinstance(relayed, ImageFrom) and alice.welcome is not None
    assert (relayed.pseudo, relayed.color, relayed.data) == ("alice", alice.welcome.color, data)
    art = render_ascii_art(relayed.data, 40, monochrome=True).splitlines()
    assert len(art) > 3 and {len(line) for line in art} == {40}
    await alice.expect_silence()
    await carol.expect_silence()


async def test_a_late_joiner_sees_a_placeholder_for_the_image(connect: ClientFactory) -> None:
    alice, bob, _ = await room_of_three(connect)
    data = sample_png()
    await alice.send(SendImage(data))
    relayed = await bob.next_frame()
    assert isinstance(relayed, ImageFrom) and alice.welcome is not None
    dave = await connect("dave", "jeux")
    assert dave.history is not None
    facts = ImageFacts("PNG", *SAMPLE_SIZE, len(data))
    assert dave.history.entries[-1] == HistoryEntry.image_sent(
        relayed.time_ms, "alice", alice.welcome.color, facts
    )
    assert dave.history.entries[-1].text == "[image PNG 96×64]"


async def test_a_message_sent_after_an_image_arrives_after_it(connect: ClientFactory) -> None:
    alice, bob, _ = await room_of_three(connect)
    await alice.send(SendImage(sample_png()))
    await alice.say("tu as vu ?")
    assert isinstance(await bob.next_frame(), ImageFrom)
    message = await bob.next_frame()
    assert isinstance(message, Message) and message.text == "tu as vu ?"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a pretending", "this is not a PNG or JPEG image"),
        (gif(), "this is not a PNG or JPEG image"),
        (
            truncated(jpeg((200, 200))),
            "the image is damaged (image file is truncated (1 bytes not processed))",
        ),
        (
            bomb_png((6000, 6000)),
            "the image is 6000×6000 pixels; the most is 16777216 pixels and 8192 on a side",
        ),
        (bomb_png((20000, 20000)), "the image has too many pixels"),
    ],
    ids=["not an image", "gif", "truncated", "bomb", "giant bomb"],
)
async def test_a_bad_image_is_refused_and_the_room_hears_nothing(
    connect: ClientFactory, data: bytes, reason: str
) -> None:
    alice, bob, _ = await room_of_three(connect)
    await alice.send(SendImage(data))
    assert await alice.next_frame() == Error(ErrorCode.BAD_IMAGE, reason)
    await alice.say("toujours là")
    message = await bob.next_frame()
    assert isinstance(message, Message) and message.text == "toujours là"  # and no image before it
    dave = await connect("dave", "jeux")
    assert dave.history is not None and all(entry.kind != "image" for entry in dave.history.entries)


async def test_an_oversized_image_is_refused_from_its_header_and_its_sender_dropped(
    connect: ClientFactory,
) -> None:
    alice, bob, _ = await room_of_three(connect)
    too_long = MAX_IMAGE_BYTES + 1
    await alice.send_raw(bytes((FrameType.IMAGE, 4)) + too_long.to_bytes(4, "big") + b"\x89PNG")
    frames = await alice.expect_closed()
    assert len(frames) == 1 and isinstance(frames[0], Error) and frames[0].code is ErrorCode.TOO_LARGE
    left = await bob.next_frame()
    assert isinstance(left, Announcement) and left.text == "Annonce : alice a quitté la chatroom"


async def test_an_image_before_entering_a_room_is_unexpected(connect: ClientFactory) -> None:
    lurker = await connect("lurker")
    await lurker.send(SendImage(sample_png()))
    assert await lurker.expect_closed() == [Error(ErrorCode.UNEXPECTED_FRAME, "IMAGE before ENTER_ROOM")]


async def test_the_conversation_log_names_the_image_but_not_the_refused_ones(
    chat_server: ChatServer, connect: ClientFactory, log_dir: Path
) -> None:
    alice, bob, _ = await room_of_three(connect)
    await alice.send(SendImage(gif()))
    assert isinstance(await alice.next_frame(), Error)
    await alice.send(SendImage(sample_png()))
    assert isinstance(await bob.next_frame(), ImageFrom)
    await chat_server.stop()
    log = (log_dir / "server.log").read_text(encoding="utf-8")
    assert log.count("sent an image") == 1
    assert "[jeux] alice sent an image [image PNG 96×64]" in log
