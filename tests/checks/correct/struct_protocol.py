"""A correct Part III codec written another way: struct with ">" formats, a table of parsers, a bytearray."""

from __future__ import annotations

import struct
from typing import Any

from chatlib.app.protocol import (
    MAX_PAYLOAD,
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
    ProtocolError,
    RoomEntered,
    RoomInfo,
    RoomList,
    Say,
    SendImage,
    Welcome,
)


def pack_text(text: str, limit: int | None = None) -> bytes:
    raw = text.encode("utf-8")
    if limit is not None and len(raw) > limit:
        raise ProtocolError(ErrorCode.TOO_LARGE, "too long")
    return raw


def pack_short(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack(">B", len(raw)) + raw  # struct.error past 255 bytes


def encode(frame: Any) -> bytes:
    if isinstance(frame, Hello):
        kind, body = FrameType.HELLO, pack_short(frame.pseudo) + pack_short(frame.token)
    elif isinstance(frame, EnterRoom):
        kind, body = FrameType.ENTER_ROOM, pack_short(frame.room)
    elif isinstance(frame, Say):
        kind, body = FrameType.SAY, pack_text(frame.text, 4096)
    elif isinstance(frame, SendImage):
        kind, body = FrameType.IMAGE, frame.data
    elif isinstance(frame, Pong):
        kind, body = FrameType.PONG, b""
    elif isinstance(frame, Bye):
        kind, body = FrameType.BYE, b""
    elif isinstance(frame, Welcome):
        strings = b"".join(pack_short(s) for s in (frame.user_id, frame.pseudo, frame.color, frame.token))
        kind, body = FrameType.WELCOME, struct.pack(">B", 1 if frame.returning else 0) + strings
    elif isinstance(frame, RoomList):
        entries = b"".join(pack_short(room.name) + struct.pack(">H", room.members) for room in frame.rooms)
        kind, body = FrameType.ROOMS, struct.pack(">H", len(frame.rooms)) + entries
    elif isinstance(frame, RoomEntered):
        kind, body = FrameType.ENTERED, pack_short(frame.room)
    elif isinstance(frame, Message):
        head = struct.pack(">Q", frame.time_ms) + pack_short(frame.pseudo) + pack_short(frame.color)
        kind, body = FrameType.MESSAGE, head + pack_text(frame.text, 4096)
    elif isinstance(frame, Announcement):
        kind, body = FrameType.ANNOUNCE, struct.pack(">Q", frame.time_ms) + pack_text(frame.text, 4096)
    elif isinstance(frame, Error):
        kind, body = FrameType.ERROR, struct.pack(">B", frame.code) + pack_text(frame.text, 1024)
    elif isinstance(frame, Closing):
        kind, body = FrameType.CLOSING, pack_text(frame.reason, 1024)
    elif isinstance(frame, ImageFrom):
        head = struct.pack(">Q", frame.time_ms) + pack_short(frame.pseudo) + pack_short(frame.color)
        kind, body = FrameType.IMAGE_FROM, head + frame.data
    elif isinstance(frame, History):
        kind, body = FrameType.HISTORY, pack_text(frame.entries_json)
    elif isinstance(frame, Ping):
        kind, body = FrameType.PING, b""
    else:
        raise TypeError(f"cannot encode {frame!r}")
    size = len(body)
    if size > MAX_PAYLOAD[kind]:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"{kind.name} too large")
    if size <= 0xFF:
        return struct.pack(">BBB", kind, 1, size) + body
    if size <= 0xFFFF:
        return struct.pack(">BBH", kind, 2, size) + body
    return struct.pack(">BBI", kind, 4, size) + body


class Fields:
    """Reads one payload's fields in order."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.at = 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.payload):
            raise ProtocolError(ErrorCode.BAD_FRAME, "payload too short")
        chunk = self.payload[self.at : self.at + size]
        self.at += size
        return chunk

    def number(self, fmt: str) -> int:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def short(self) -> str:
        return self.take(self.number(">B")).decode()

    def rest(self) -> bytes:
        return self.take(len(self.payload) - self.at)

    def done(self) -> None:
        if self.at != len(self.payload):
            raise ProtocolError(ErrorCode.BAD_FRAME, "bytes left over")


def parse(kind: int, f: Fields) -> Any:
    if kind == FrameType.HELLO:
        frame = Hello(f.short(), f.short())
    elif kind == FrameType.ENTER_ROOM:
        frame = EnterRoom(f.short())
    elif kind == FrameType.SAY:
        return Say(f.rest().decode())
    elif kind == FrameType.IMAGE:
        return SendImage(f.rest())
    elif kind == FrameType.PONG:
        frame = Pong()
    elif kind == FrameType.BYE:
        frame = Bye()
    elif kind == FrameType.WELCOME:
        flags = f.number(">B")
        frame = Welcome(f.short(), f.short(), f.short(), f.short(), returning=bool(flags & 1))
    elif kind == FrameType.ROOMS:
        count = f.number(">H")
        frame = RoomList(tuple(RoomInfo(f.short(), f.number(">H")) for _ in range(count)))
    elif kind == FrameType.ENTERED:
        frame = RoomEntered(f.short())
    elif kind == FrameType.MESSAGE:
        return Message(f.number(">Q"), f.short(), f.short(), f.rest().decode())
    elif kind == FrameType.ANNOUNCE:
        return Announcement(f.number(">Q"), f.rest().decode())
    elif kind == FrameType.ERROR:
        return Error(ErrorCode(f.number(">B")), f.rest().decode())
    elif kind == FrameType.CLOSING:
        return Closing(f.rest().decode())
    elif kind == FrameType.IMAGE_FROM:
        return ImageFrom(f.number(">Q"), f.short(), f.short(), f.rest())
    elif kind == FrameType.HISTORY:
        return History(f.rest().decode())
    else:
        frame = Ping()
    f.done()
    return frame


class FrameDecoder:
    def __init__(self, side: str) -> None:
        self.accepted = {t.value for t in FrameType if (t < 0x80) == (side == "client")}
        self.pending = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        self.pending += data
        frames = []
        while self.pending:
            kind = self.pending[0]
            if kind not in self.accepted:
                raise ProtocolError(ErrorCode.BAD_FRAME, f"type {kind:#x} not expected here")
            if len(self.pending) < 2:
                break
            width = self.pending[1]
            if width not in (1, 2, 4):
                raise ProtocolError(ErrorCode.BAD_FRAME, "bad width")
            if len(self.pending) < 2 + width:
                break
            size = int.from_bytes(self.pending[2 : 2 + width], "big")
            if size > MAX_PAYLOAD[FrameType(kind)]:
                raise ProtocolError(ErrorCode.TOO_LARGE, "too large")
            end = 2 + width + size
            if len(self.pending) < end:
                break
            payload = bytes(self.pending[2 + width : end])
            del self.pending[:end]
            frames.append(parse(kind, Fields(payload)))
        return frames
