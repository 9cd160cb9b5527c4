"""Part III checks: the binary protocol's encoder and decoder against docs/PROTOCOL.md, and framing over TCP.

Shapes: `encode(frame) -> bytes`; `decoder` a class like `FrameDecoder(side)` whose
`feed(data) -> list[frame]` returns the frames completed so far; and a receiver, either
`link` (a class like `ServerLink(reader, writer)` with `async receive() -> frame | None`) or
`read_frame` (`async read_frame(reader) -> frame | None`). The frames are those of
`chatlib.app.protocol`.

Each side is checked against the documented bytes (the worked examples, and every frame type
laid out as the documentation says), never against the student's other side: an encoder and a
decoder that agree with each other on a wrong format (little-endian lengths, say) both fail.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from chatlib.app.protocol.frames import (
    MAX_PAYLOAD,
    MAX_TEXT_BYTES,
    Announcement,
    Bye,
    Closing,
    EnterRoom,
    Error,
    ErrorCode,
    FrameType,
    Hello,
    History,
    ImageFrom,
    Message,
    Ping,
    Pong,
    RoomEntered,
    RoomInfo,
    RoomList,
    Say,
    SendImage,
    Welcome,
)
from chatlib.checks import peers
from chatlib.checks.locations import traceback_spot
from chatlib.checks.peers import HOST
from chatlib.checks.report import Mismatch
from chatlib.checks.scenarios import Implementation, Scenario, Step
from chatlib.checks.vectors import frame_bytes, frame_fields
from chatlib.checks.wire import describe_frame, difference_hint, field_table, frame_difference, hex_bytes

TIME_MS = 1_764_000_000_000
DOCUMENTED_EXAMPLES: list[tuple[str, Any, bytes]] = [
    ("HELLO with pseudo it4 and no token", Hello("it4", ""), bytes.fromhex("01 01 05 03 69 74 34 00")),
    (
        "MESSAGE from bob",
        Message(1_700_000_000_000, "bob", "#1f77b4", "salut"),
        bytes.fromhex("84 01 19 00 00 01 8b cf e5 68 00 03 62 6f 62 07 23 31 66 37 37 62 34 73 61 6c 75 74"),
    ),
    ('ENTER_ROOM "jeux"', EnterRoom("jeux"), bytes.fromhex("02 01 05 04 6a 65 75 78")),
    (
        "ROOMS with general, 2 members",
        RoomList((RoomInfo("general", 2),)),
        bytes.fromhex("82 01 0c 00 01 07 67 65 6e 65 72 61 6c 00 02"),
    ),
    ("PING", Ping(), bytes.fromhex("8a 01 00")),
    ("PONG", Pong(), bytes.fromhex("05 01 00")),
]
"""The worked examples of docs/PROTOCOL.md, byte for byte."""

BINARY = bytes(range(256)) * 274  # 70 144 bytes: the length needs 4 bytes
CLIENT_FRAMES: list[Any] = [
    Hello("alice", ""),
    Hello("zoé", "t0k3n"),
    EnterRoom("général"),
    Say("salut à tous"),
    Say(""),
    Say("é" * 1000),  # 2000 bytes: a 2-byte length
    SendImage(BINARY),
    Pong(),
    Bye(),
]
SERVER_FRAMES: list[Any] = [
    Welcome("u1", "alice", "#12ab34", "t0k3n", returning=True),
    Welcome("u2", "zoé", "#a0b0c0", "", returning=False),
    RoomList((RoomInfo("général", 3), RoomInfo("jeux", 0))),
    RoomList(()),
    RoomEntered("général"),
    Message(TIME_MS, "bob", "#a0b0c0", "ça va ?"),
    Message(TIME_MS + 2, "carol", "#000000", "é" * 1500),
    Announcement(TIME_MS + 1, "bob a rejoint la chatroom"),
    Error(ErrorCode.PSEUDO_TAKEN, "pseudo déjà pris"),
    Closing("server shutting down"),
    ImageFrom(TIME_MS + 3, "bob", "#a0b0c0", BINARY),
    History('{"room": "jeux", "entries": [' + ", ".join(['{"text": "é"}'] * 5000) + "]}"),
    Ping(),
]
FRAMES_BY_SIDE = (("client", CLIENT_FRAMES), ("server", SERVER_FRAMES))

TOO_MUCH_FOR_ENCODE: list[tuple[Any, str]] = [
    (Hello("é" * 200, ""), "a str8 (the pseudo) holds at most 255 bytes; this one is 400"),
    (
        Say("x" * (MAX_TEXT_BYTES + 1)),
        f"a SAY carries at most {MAX_TEXT_BYTES} bytes of text (MAX_TEXT_BYTES)",
    ),
]
BROKEN_STREAMS: list[tuple[str, str, bytes, str]] = [
    ("client", "an unknown type byte, 0x7f", bytes.fromhex("7f 01 00"), "an unknown type breaks the stream"),
    ("client", "a length width of 3", bytes.fromhex("03 03 00 00 02 68 69"), "the width is 1, 2 or 4"),
    ("client", "a SAY whose text is not UTF-8", bytes.fromhex("03 01 02 ff fe"), "all text is strict UTF-8"),
    ("client", "a server's PING sent by a client", bytes.fromhex("8a 01 00"), "each side has its own types"),
    (
        "client",
        "a HELLO with a byte left over after its fields",
        bytes.fromhex("01 01 03 00 00 21"),
        "a payload must be used up exactly by its fields",
    ),
    (
        "client",
        f"the header alone of a SAY of {MAX_TEXT_BYTES + 1} bytes",
        bytes([FrameType.SAY, 2]) + (MAX_TEXT_BYTES + 1).to_bytes(2, "big"),
        f"over SAY's limit ({MAX_PAYLOAD[FrameType.SAY]} bytes): refuse it from the header, before the payload",
    ),
    (
        "client",
        "the header alone of an IMAGE of 4 GiB",
        bytes([FrameType.IMAGE, 4, 0xFF, 0xFF, 0xFF, 0xFF]),
        "over IMAGE's limit: refuse it from the header, before buffering anything",
    ),
]
"""(side, what, bytes, why it is broken): a decoder must raise on each, at once."""

# Small frames glued in one write, then one frame too long for a single 1024-byte read.
LONG_TEXT = "x" * 2000 + "é" * 500
WIRE_FRAMES: list[Any] = [
    Announcement(TIME_MS, "alice a rejoint la chatroom"),
    Message(TIME_MS + 1, "alice", "#12ab34", "premier"),
    Message(TIME_MS + 2, "alice", "#12ab34", "second"),
    Message(TIME_MS + 3, "bob", "#a0b0c0", LONG_TEXT),
    Announcement(TIME_MS + 4, "bob a quitté la chatroom"),
]
PIECE_PAUSE = 0.05
THE_END = "<then the end: receive() returned None>"
ANY_WIDTH_FRAMES: list[Any] = [Ping(), Say("salut"), Message(TIME_MS, "bob", "#a0b0c0", "ça va ?")]
LENGTH_WIDTHS = (1, 2, 4)


def laid_out_frames() -> list[tuple[Any, int | None]]:
    """Every frame (with the length's width, when forced) whose documented bytes the checks use:
    what a student edition's test vectors hold."""
    examples = [frame for _, frame, _ in DOCUMENTED_EXAMPLES]
    frames = examples + CLIENT_FRAMES + SERVER_FRAMES + WIRE_FRAMES + ANY_WIDTH_FRAMES
    forced = [(frame, width) for frame in ANY_WIDTH_FRAMES for width in LENGTH_WIDTHS]
    return [(frame, None) for frame in frames] + forced


def describe_frames(frames: list[Any]) -> str:
    """Frames as Python writes them, with long texts and data cut short, so a report stays readable."""
    return "[" + ", ".join(describe_frame(frame) for frame in frames) + "]"


# --- The encoder ---------------------------------------------------------------------------------


def encoded(given: Implementation, frame: Any) -> bytes:
    """The student's bytes for `frame`; not implemented yet if the encoder returns nothing."""
    try:
        data = given["encode"](frame)
    except NotImplementedError:
        raise
    except Exception as error:
        where = traceback_spot(error)
        raise Mismatch(
            f"encode raised {type(error).__name__} on a valid frame",
            sent=f"encode({describe_frame(frame)})",
            expected=hex_bytes(frame_bytes(frame), 24),
            arrived=f"{type(error).__name__}: {error}" + (f", at {where}" if where else ""),
        ) from None
    if data is None or data is Ellipsis:
        raise NotImplementedError
    if not isinstance(data, (bytes, bytearray)):
        raise Mismatch(
            "encode must return bytes", sent=f"encode({describe_frame(frame)})", arrived=repr(data)
        )
    return bytes(data)


def expect_documented_bytes(given: Implementation, frame: Any, what: str) -> None:
    """The student's encoding of `frame` is exactly the documented one; else the fields side by side."""
    data = encoded(given, frame)
    fields = frame_fields(frame)
    table, field, expected, arrived = field_table(fields, data)
    if field is None:
        return
    raise Mismatch(
        f"the bytes of {what} differ from docs/PROTOCOL.md, first in its `{field}`",
        sent=f"encode({describe_frame(frame)})",
        table=tuple(table),
        hint=difference_hint(field, expected, arrived),
    )


async def encodes_documented_examples(given: Implementation) -> None:
    """encode gives the worked examples of docs/PROTOCOL.md byte for byte."""
    for what, frame, documented in DOCUMENTED_EXAMPLES:
        assert frame_bytes(frame) == documented, f"the checks disagree with the documentation on {what}"
        expect_documented_bytes(given, frame, f"the documented {what}")


async def encodes_every_frame(given: Implementation) -> None:
    """encode lays out every frame type as documented (non-ASCII text, lengths of 1, 2 and 4 bytes)."""
    for _, frames in FRAMES_BY_SIDE:
        for frame in frames:
            expect_documented_bytes(given, frame, describe_frame(frame))


async def encode_refuses_too_much(given: Implementation) -> None:
    """encode raises for what the protocol cannot carry, instead of writing a broken frame."""
    for frame, why in TOO_MUCH_FOR_ENCODE:
        try:
            data = given["encode"](frame)
        except NotImplementedError:
            raise
        except Exception:
            continue
        if data is None or data is Ellipsis:
            raise NotImplementedError
        raise Mismatch(
            "encode wrote a frame the protocol cannot carry",
            sent=f"encode({describe_frame(frame)})",
            expected=f"an exception: {why}",
            arrived=f"{len(data)} bytes: {hex_bytes(bytes(data), 12)}",
            hint="check the limits of docs/PROTOCOL.md and raise (the reference raises ProtocolError)",
        )


# --- The decoder ---------------------------------------------------------------------------------


def decoded(given: Implementation, side: str, chunks: list[bytes], sent: str) -> list[Any]:
    """Feed `chunks` to a new decoder for frames from `side`; every frame it returns, in order."""
    decoder = given["decoder"](side)
    frames: list[Any] = []
    for chunk in chunks:
        try:
            result = decoder.feed(chunk)
            if result is None or result is Ellipsis:
                raise NotImplementedError
            frames.extend(list(result))
        except NotImplementedError:
            raise
        except Exception as error:
            where = traceback_spot(error)
            raise Mismatch(
                f"the decoder raised {type(error).__name__} on valid bytes",
                sent=sent,
                arrived=f"{type(error).__name__}: {error}" + (f", at {where}" if where else ""),
            ) from None
    return frames


def expect_frames(
    given: Implementation, side: str, chunks: list[bytes], sent: str, expected: list[Any]
) -> None:
    """The decoder gives back exactly `expected`; else the first wrong frame field by field."""
    frames = decoded(given, side, chunks, sent)
    if frames == expected:
        return
    index = next(
        (i for i, (a, b) in enumerate(zip(expected, frames)) if a != b), min(len(expected), len(frames))
    )
    table: list[str] = []
    hint = ""
    if index < len(expected) and index < len(frames):
        table, summary = frame_difference(expected[index], frames[index])
        hint = f"frame {index + 1}: {summary}"
    elif not frames and len(chunks) == 1:
        hint = (
            "the bytes hold whole frames, yet the decoder gave none: does it read the length right "
            "(big-endian, on the number of bytes `width` gives)?"
        )
    elif len(frames) < len(expected):
        hint = f"{len(expected) - len(frames)} frame(s) missing, from frame {index + 1} on"
    else:
        hint = f"{len(frames) - len(expected)} frame(s) too many"
    raise Mismatch(
        "the decoder did not give back exactly the frames sent",
        sent=sent,
        expected=describe_frames(expected),
        arrived=describe_frames(frames),
        table=tuple(table),
        hint=hint,
    )


async def decodes_documented_bytes(given: Implementation) -> None:
    """The decoder reads the documented examples and every frame type, each as documented."""
    for what, frame, documented in DOCUMENTED_EXAMPLES:
        side = "client" if frame_bytes(frame)[0] < 0x80 else "server"
        expect_frames(
            given, side, [documented], f"the documented {what}: {hex_bytes(documented, 28)}", [frame]
        )
    for side, frames in FRAMES_BY_SIDE:
        for frame in frames:
            data = frame_bytes(frame)
            expect_frames(
                given, side, [data], f"{hex_bytes(data, 16)}, the bytes of {describe_frame(frame)}", [frame]
            )


async def decodes_any_width(given: Implementation) -> None:
    """The decoder accepts a length written on 1, 2 or 4 bytes, whichever fits (receivers accept any)."""
    for frame in ANY_WIDTH_FRAMES:
        side = "client" if frame_bytes(frame)[0] < 0x80 else "server"
        for width in LENGTH_WIDTHS:
            data = frame_bytes(frame, width)
            expect_frames(
                given,
                side,
                [data],
                f"{hex_bytes(data, 16)}: {describe_frame(frame)}, length on {width} byte(s)",
                [frame],
            )


async def decoder_refuses_broken_streams(given: Implementation) -> None:
    """The decoder raises at once on a broken stream, from the header when the header says enough."""
    for side, what, data, why in BROKEN_STREAMS:
        decoder = given["decoder"](side)
        try:
            result = decoder.feed(data)
            if result is None or result is Ellipsis:
                raise NotImplementedError
            result = list(result)  # a generator raises only once read
        except NotImplementedError:
            raise
        except Exception:
            continue
        problem = (
            "the decoder accepted a broken stream"
            if result
            else "the decoder waits for more bytes instead of refusing a broken stream at once"
        )
        raise Mismatch(
            problem,
            sent=f"{what}: {hex_bytes(data, 16)} (to a decoder of {side} frames)",
            expected=f"an exception: {why}",
            arrived=describe_frames(list(result)) if result else "[] (no frame yet, no error)",
            hint="a receiver stops at the first broken frame: its framing cannot be trusted any more",
        )


def chunkings(data: bytes) -> list[tuple[str, list[bytes]]]:
    """Ways TCP might cut `data`: byte by byte, and random cuts (the same on every run)."""
    shuffle = random.Random(8)
    cuts = sorted(shuffle.sample(range(1, len(data)), k=min(40, len(data) - 1)))
    pieces = [data[start:end] for start, end in zip([0, *cuts], [*cuts, len(data)])]
    return [
        ("one byte at a time", [data[index : index + 1] for index in range(len(data))]),
        (f"cut in {len(pieces)} random pieces", pieces),
    ]


SMALL_SERVER_FRAMES = [frame for frame in SERVER_FRAMES if len(frame_bytes(frame)) < 4000]


async def any_chunking(given: Implementation) -> None:
    """The frames come out the same however the bytes are cut."""
    data = b"".join(frame_bytes(frame) for frame in SMALL_SERVER_FRAMES)
    for how, chunks in chunkings(data):
        sent = f"{len(SMALL_SERVER_FRAMES)} server frames, {how}"
        expect_frames(given, "server", chunks, sent, SMALL_SERVER_FRAMES)


async def glued_frames(given: Implementation) -> None:
    """Many frames arriving in one read all come out, in order."""
    data = b"".join(frame_bytes(frame) for frame in CLIENT_FRAMES)
    expect_frames(
        given, "client", [data], f"{len(CLIENT_FRAMES)} client frames glued in one read", CLIENT_FRAMES
    )


# --- Framing over TCP ----------------------------------------------------------------------------


async def send_wire_frames(writer: asyncio.StreamWriter) -> None:
    """The server side of the framing check: glued frames, a long frame in pieces, then goodbye."""
    writer.write(b"".join(frame_bytes(frame) for frame in WIRE_FRAMES[:3]))
    await writer.drain()
    long_frame = frame_bytes(WIRE_FRAMES[3])
    for start in range(0, len(long_frame), 700):
        await asyncio.sleep(PIECE_PAUSE)  # separate pieces, as a slow network would deliver them
        writer.write(long_frame[start : start + 700])
        await writer.drain()
    writer.write(frame_bytes(WIRE_FRAMES[4]))
    await writer.drain()
    writer.close()


async def framing_over_tcp(given: Implementation) -> None:
    """Whole frames come out of a real connection, however TCP glues and cuts them."""

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await send_wire_frames(writer)

    server = await asyncio.start_server(on_connection, HOST, 0)
    try:
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(HOST, port)
        receive = _receiver(given, reader, writer)
        frames: list[Any] = []
        try:
            async with asyncio.timeout(peers.WAIT_SECONDS):
                while (frame := await receive()) is not None and len(frames) <= len(WIRE_FRAMES):
                    frames.append(frame)
            frames.append(THE_END)
        except TimeoutError:
            frames.append(f"<nothing more within {peers.WAIT_SECONDS:g} s>")
        except Exception as error:
            if isinstance(error, NotImplementedError):
                raise
            frames.append(f"<raised {type(error).__name__}: {error}>")
        finally:
            writer.close()
        if frames != [*WIRE_FRAMES, THE_END]:
            raise Mismatch(
                "the frames read from the connection are not the frames sent",
                sent=f"3 small frames in one write, then a {len(frame_bytes(WIRE_FRAMES[3]))}-byte frame in "
                "pieces, then one more frame, then the end of the connection",
                expected=describe_frames([*WIRE_FRAMES, THE_END]),
                arrived=describe_frames(frames),
                hint="a fixed read(1024) loses glued frames and cuts long ones: "
                "read the header, then exactly the length it gives",
            )
    finally:
        server.close()


def _receiver(
    given: Implementation, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> Callable[[], Any]:
    """A `receive()` coroutine function over the student's link class or read_frame function."""
    if given.get("link") is not None:
        link = given["link"](reader, writer)
        return link.receive
    read_frame = given["read_frame"]
    return lambda: read_frame(reader)


def protocol_step() -> Step:
    """The checks of Part III's protocol."""
    return Step(
        "protocol",
        "Part III binary protocol",
        {
            "encode": ("encode",),
            "decoder": ("FrameDecoder",),
            "link": ("ServerLink",),
            "read_frame": ("read_frame", "receive_frame"),
        },
        [
            Scenario(
                "encode writes docs/PROTOCOL.md's worked examples byte for byte",
                ("encode",),
                encodes_documented_examples,
            ),
            Scenario(
                "encode writes every frame type as documented (non-ASCII text, lengths on 1, 2 and 4 bytes)",
                ("encode",),
                encodes_every_frame,
            ),
            Scenario(
                "encode refuses what the protocol cannot carry (the limits)",
                ("encode",),
                encode_refuses_too_much,
            ),
            Scenario(
                "the decoder reads the documented bytes of every frame type",
                ("decoder",),
                decodes_documented_bytes,
            ),
            Scenario("the decoder accepts a length on 1, 2 or 4 bytes", ("decoder",), decodes_any_width),
            Scenario(
                "the decoder refuses a broken stream at once (bad type, width, UTF-8, limits)",
                ("decoder",),
                decoder_refuses_broken_streams,
            ),
            Scenario(
                "frames cut anywhere (byte by byte, random pieces) decode the same",
                ("decoder",),
                any_chunking,
            ),
            Scenario("frames glued in one read all decode, in order", ("decoder",), glued_frames),
            Scenario("a client reads whole frames from TCP (framing)", ("receiver",), framing_over_tcp),
        ],
        adapt=_name_receiver,
        aliases={"link": "receiver", "read_frame": "receiver"},
    )


def _name_receiver(given: Implementation) -> Implementation:
    """The framing scenario needs a receiver: a link class or a read_frame function."""
    adapted = dict(given)
    adapted["receiver"] = given.get("link") or given.get("read_frame")
    return adapted
