"""Part III checks: the binary protocol's encoder and decoder, and reading whole frames from TCP.

Shapes: `encode(frame) -> bytes`; `decoder` a class like `FrameDecoder(side)` whose
`feed(data) -> list[frame]` returns the frames completed so far; and a receiver, either
`link` (a class like `ServerLink(reader, writer)` with `async receive() -> frame | None`) or
`read_frame` (`async read_frame(reader) -> frame | None`). The frames are those of
`chatlib.app.protocol`, as docs/PROTOCOL.md describes them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable
from typing import Any

from chatlib.app.protocol import (
    Announcement,
    Bye,
    EnterRoom,
    Error,
    ErrorCode,
    Hello,
    History,
    Message,
    Ping,
    Pong,
    RoomInfo,
    RoomList,
    Say,
    Welcome,
)
from chatlib.checks import peers
from chatlib.checks.peers import HOST
from chatlib.checks.report import Mismatch, shorten
from chatlib.checks.scenarios import Implementation, Scenario, Step

TIME_MS = 1_764_000_000_000
CLIENT_FRAMES: list[Any] = [
    Hello("alice", ""),
    Hello("zoé", "t0k3n"),
    EnterRoom("général"),
    Say("salut à tous"),
    Say(""),
    Pong(),
    Bye(),
]
SERVER_FRAMES: list[Any] = [
    Welcome("u1", "alice", "#12ab34", "t0k3n", returning=True),
    RoomList((RoomInfo("général", 3), RoomInfo("jeux", 0))),
    Message(TIME_MS, "bob", "#a0b0c0", "ça va ?"),
    Announcement(TIME_MS + 1, "bob a rejoint la chatroom"),
    Error(ErrorCode.PSEUDO_TAKEN, "pseudo déjà pris"),
    History('[{"pseudo": "bob", "text": "hi"}]'),
    Message(TIME_MS + 2, "carol", "#000000", "é" * 1500),
    Ping(),
]
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


def describe_frames(frames: list[Any]) -> str:
    """Frames as Python writes them, with long texts and data cut short, so a report stays readable."""
    described = []
    for frame in frames:
        if not dataclasses.is_dataclass(frame):
            described.append(str(frame))
            continue
        values = [
            f"{field.name}={shorten(repr(getattr(frame, field.name)), 40)}"
            for field in dataclasses.fields(frame)
        ]
        described.append(f"{type(frame).__name__}({', '.join(values)})")
    return "[" + ", ".join(described) + "]"


def decoded(
    given: Implementation, side: str, chunks: list[bytes], sent: str, expected: list[Any]
) -> list[Any]:
    """Feed `chunks` to a new decoder for frames from `side`; every frame it returns, in order."""
    decoder = given["decoder"](side)
    frames: list[Any] = []
    for chunk in chunks:
        result = decoder.feed(chunk)
        if result is None or result is Ellipsis:
            raise NotImplementedError
        frames.extend(result)
    if frames != expected:
        raise Mismatch(
            "the decoder did not give back exactly the frames encoded",
            sent=sent,
            expected=describe_frames(expected),
            arrived=describe_frames(frames),
        )
    return frames


def encoded(given: Implementation, frame: Any) -> bytes:
    """The student's bytes for `frame`; not implemented yet if the encoder returns nothing."""
    data = given["encode"](frame)
    if data is None or data is Ellipsis:
        raise NotImplementedError
    if not isinstance(data, (bytes, bytearray)):
        raise Mismatch("encode must return bytes", sent=f"encode({frame!r})", arrived=repr(data))
    return bytes(data)


async def round_trip(given: Implementation) -> None:
    """Each frame, encoded then decoded on its own, comes back equal."""
    for side, frames in (("client", CLIENT_FRAMES), ("server", SERVER_FRAMES)):
        for frame in frames:
            data = encoded(given, frame)
            decoded(given, side, [data], f"encode({frame!r}) = {data!r}", [frame])


def chunkings(data: bytes) -> list[tuple[str, list[bytes]]]:
    """Ways TCP might cut `data`: byte by byte, and random cuts (the same on every run)."""
    shuffle = random.Random(8)
    cuts = sorted(shuffle.sample(range(1, len(data)), k=min(40, len(data) - 1)))
    pieces = [data[start:end] for start, end in zip([0, *cuts], [*cuts, len(data)])]
    return [
        ("one byte at a time", [data[index : index + 1] for index in range(len(data))]),
        (f"cut in {len(pieces)} random pieces", pieces),
    ]


async def any_chunking(given: Implementation) -> None:
    """The frames come out the same however the bytes are cut."""
    data = b"".join(encoded(given, frame) for frame in SERVER_FRAMES)
    for how, chunks in chunkings(data):
        decoded(given, "server", chunks, f"{len(SERVER_FRAMES)} server frames, {how}", SERVER_FRAMES)


async def glued_frames(given: Implementation) -> None:
    """Many frames arriving in one read all come out, in order."""
    data = b"".join(encoded(given, frame) for frame in CLIENT_FRAMES)
    decoded(given, "client", [data], f"{len(CLIENT_FRAMES)} client frames glued in one read", CLIENT_FRAMES)


async def send_wire_frames(encode: Callable[[Any], bytes], writer: asyncio.StreamWriter) -> None:
    """The server side of the framing check: glued frames, a long frame in pieces, then goodbye."""
    small = b"".join(encode(frame) for frame in WIRE_FRAMES[:3])
    writer.write(small)
    await writer.drain()
    long_frame = encode(WIRE_FRAMES[3])
    for start in range(0, len(long_frame), 700):
        await asyncio.sleep(PIECE_PAUSE)  # separate pieces, as a slow network would deliver them
        writer.write(long_frame[start : start + 700])
        await writer.drain()
    writer.write(encode(WIRE_FRAMES[4]))
    await writer.drain()
    writer.close()


async def framing_over_tcp(given: Implementation) -> None:
    """Whole frames come out of a real connection, however TCP glues and cuts them."""
    encode = given.get("encode") or _reference_encode()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await send_wire_frames(encode, writer)

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
            frames.append("<then the end: receive() returned None>")
        except TimeoutError:
            frames.append(f"<nothing more within {peers.WAIT_SECONDS:g} s>")
        except Exception as error:
            if isinstance(error, NotImplementedError):
                raise
            frames.append(f"<raised {type(error).__name__}: {error}>")
        finally:
            writer.close()
        if frames != [*WIRE_FRAMES, "<then the end: receive() returned None>"]:
            raise Mismatch(
                "the frames read from the connection are not the frames sent",
                sent=f"3 small frames in one write, then a {len(encode(WIRE_FRAMES[3]))}-byte frame in pieces, "
                "then one more frame, then the end of the connection",
                expected=describe_frames([*WIRE_FRAMES, "<then the end: receive() returned None>"]),
                arrived=describe_frames(frames),
                hint="a fixed read(1024) loses glued frames and cuts long ones: "
                "read the header, then exactly the length it gives",
            )
    finally:
        server.close()


def _reference_encode() -> Callable[[Any], bytes]:
    from chatlib.app.protocol import encode

    return encode


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
            Scenario("encode then decode gives every frame back", ("encode", "decoder"), round_trip),
            Scenario(
                "frames cut anywhere (byte by byte, random pieces) decode the same",
                ("encode", "decoder"),
                any_chunking,
            ),
            Scenario("frames glued in one read all decode, in order", ("encode", "decoder"), glued_frames),
            Scenario("a client reads whole frames from TCP (framing)", ("receiver",), framing_over_tcp),
        ],
        adapt=_name_receiver,
    )


def _name_receiver(given: Implementation) -> Implementation:
    """The framing scenario needs a receiver: a link class or a read_frame function."""
    adapted = dict(given)
    adapted["receiver"] = given.get("link") or given.get("read_frame")
    return adapted
