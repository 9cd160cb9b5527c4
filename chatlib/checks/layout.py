"""A frame's bytes as docs/PROTOCOL.md lays them out, field by field: what the protocol checks expect.

`frame_fields(Say("salut"))` gives `[("type", b"\\x03"), ("width", b"\\x01"), ("length", b"\\x05"),
("text", b"salut")]`. Written from the documentation, apart from the reference encoder: the checks'
tests compare the two on every frame.

This is an encoder, so it is the course's alone: a student edition, where the protocol is a step
to write, holds instead the fields of every frame the checks use, written down at release time
(`chatlib.checks.vectors`).
"""

from __future__ import annotations

from typing import Any

from chatlib.app.protocol.frames import (
    Announcement,
    Bye,
    Closing,
    EnterRoom,
    Error,
    FrameType,
    Hello,
    History,
    ImageFrom,
    Message,
    Ping,
    Pong,
    RoomEntered,
    RoomList,
    Say,
    SendImage,
    Welcome,
)
from chatlib.checks.vectors import Field


def str8(name: str, text: str) -> list[Field]:
    """A str8: one length byte, then the UTF-8 bytes."""
    raw = text.encode()
    return [(f"{name} length", bytes([len(raw) % 256])), (name, raw)]


def time_field(time_ms: int) -> Field:
    """A time: 8 bytes, big-endian milliseconds."""
    return ("time", time_ms.to_bytes(8, "big"))


def payload_fields(frame: Any) -> tuple[FrameType, list[Field]]:
    """The frame's type, and its payload's fields in order."""
    match frame:
        case Hello(pseudo, token):
            return FrameType.HELLO, [*str8("pseudo", pseudo), *str8("token", token)]
        case EnterRoom(room):
            return FrameType.ENTER_ROOM, str8("room", room)
        case Say(text):
            return FrameType.SAY, [("text", text.encode())]
        case SendImage(data):
            return FrameType.IMAGE, [("data", bytes(data))]
        case Pong():
            return FrameType.PONG, []
        case Bye():
            return FrameType.BYE, []
        case Welcome(user_id, pseudo, color, token, returning):
            fields = [("flags", bytes([int(returning)])), *str8("user_id", user_id), *str8("pseudo", pseudo)]
            return FrameType.WELCOME, [*fields, *str8("color", color), *str8("token", token)]
        case RoomList(rooms):
            fields = [("count", len(rooms).to_bytes(2, "big"))]
            for number, room in enumerate(rooms, start=1):
                fields += [*str8(f"room {number} name", room.name)]
                fields.append((f"members of room {number}", room.members.to_bytes(2, "big")))
            return FrameType.ROOMS, fields
        case RoomEntered(room):
            return FrameType.ENTERED, str8("room", room)
        case Message(time_ms, pseudo, color, text):
            fields = [time_field(time_ms), *str8("pseudo", pseudo), *str8("color", color)]
            return FrameType.MESSAGE, [*fields, ("text", text.encode())]
        case Announcement(time_ms, text):
            return FrameType.ANNOUNCE, [time_field(time_ms), ("text", text.encode())]
        case Error(code, text):
            return FrameType.ERROR, [("code", bytes([int(code)])), ("text", text.encode())]
        case Closing(reason):
            return FrameType.CLOSING, [("reason", reason.encode())]
        case ImageFrom(time_ms, pseudo, color, data):
            fields = [time_field(time_ms), *str8("pseudo", pseudo), *str8("color", color)]
            return FrameType.IMAGE_FROM, [*fields, ("data", bytes(data))]
        case History(entries_json):
            return FrameType.HISTORY, [("history", entries_json.encode())]
        case Ping():
            return FrameType.PING, []
    raise TypeError(f"not a frame: {frame!r}")


def frame_fields(frame: Any, width: int | None = None) -> list[Field]:
    """Every field of the frame on the wire, header first; `width` forces the length's width."""
    frame_type, fields = payload_fields(frame)
    length = sum(len(data) for _, data in fields)
    if width is None:
        width = 1 if length < 0x100 else 2 if length < 0x10000 else 4
    header = [
        ("type", bytes([frame_type])),
        ("width", bytes([width])),
        ("length", length.to_bytes(width, "big")),
    ]
    return [*header, *fields]
