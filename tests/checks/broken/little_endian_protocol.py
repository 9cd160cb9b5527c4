"""A broken Part III codec: consistent with itself, but its numbers are little-endian (struct "<")."""

from __future__ import annotations

import struct

from chatlib.app.protocol import (
    Announcement,
    Bye,
    Closing,
    EnterRoom,
    Error,
    ErrorCode,
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

CLIENT_TYPES = {Hello: 1, EnterRoom: 2, Say: 3, SendImage: 4, Pong: 5, Bye: 6}
SERVER_TYPES = {
    Welcome: 0x81, RoomList: 0x82, RoomEntered: 0x83, Message: 0x84, Announcement: 0x85,
    Error: 0x86, Closing: 0x87, ImageFrom: 0x88, History: 0x89, Ping: 0x8A,
}


def short_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<B", len(data)) + data


def payload_of(frame) -> bytes:
    if isinstance(frame, Hello):
        return short_string(frame.pseudo) + short_string(frame.token)
    if isinstance(frame, (EnterRoom, RoomEntered)):
        return short_string(frame.room)
    if isinstance(frame, Say):
        return frame.text.encode()
    if isinstance(frame, SendImage):
        return frame.data
    if isinstance(frame, Welcome):
        fields = [frame.user_id, frame.pseudo, frame.color, frame.token]
        return struct.pack("<B", int(frame.returning)) + b"".join(short_string(f) for f in fields)
    if isinstance(frame, RoomList):
        rooms = b"".join(short_string(r.name) + struct.pack("<H", r.members) for r in frame.rooms)
        return struct.pack("<H", len(frame.rooms)) + rooms
    if isinstance(frame, Message):
        start = struct.pack("<Q", frame.time_ms) + short_string(frame.pseudo) + short_string(frame.color)
        return start + frame.text.encode()
    if isinstance(frame, Announcement):
        return struct.pack("<Q", frame.time_ms) + frame.text.encode()
    if isinstance(frame, Error):
        return struct.pack("<B", frame.code) + frame.text.encode()
    if isinstance(frame, Closing):
        return frame.reason.encode()
    if isinstance(frame, ImageFrom):
        return struct.pack("<Q", frame.time_ms) + short_string(frame.pseudo) + short_string(frame.color) + frame.data
    if isinstance(frame, History):
        return frame.entries_json.encode()
    return b""


def encode(frame) -> bytes:
    kind = {**CLIENT_TYPES, **SERVER_TYPES}[type(frame)]
    payload = payload_of(frame)
    if len(payload) > 4096 and isinstance(frame, Say):
        raise ValueError("text too long")
    if len(payload) < 256:
        header = struct.pack("<BBB", kind, 1, len(payload))
    elif len(payload) < 65536:
        header = struct.pack("<BBH", kind, 2, len(payload))
    else:
        header = struct.pack("<BBI", kind, 4, len(payload))
    return header + payload


class FrameDecoder:
    def __init__(self, side: str) -> None:
        self.side = side
        self.buffer = b""

    def feed(self, data: bytes) -> list:
        self.buffer += data
        frames = []
        while len(self.buffer) >= 2:
            kind, width = self.buffer[0], self.buffer[1]
            if width not in (1, 2, 4):
                raise ValueError("bad width")
            if len(self.buffer) < 2 + width:
                break
            length = int.from_bytes(self.buffer[2:2 + width], "little")
            if len(self.buffer) < 2 + width + length:
                break
            payload = self.buffer[2 + width:2 + width + length]
            self.buffer = self.buffer[2 + width + length:]
            frames.append(self.parse(kind, payload))
        return frames

    def parse(self, kind: int, payload: bytes):
        position = 0

        def string() -> str:
            nonlocal position
            size = payload[position]
            text = payload[position + 1:position + 1 + size].decode()
            position += 1 + size
            return text

        if kind == 1:
            return Hello(string(), string())
        if kind == 2:
            return EnterRoom(string())
        if kind == 3:
            return Say(payload.decode())
        if kind == 4:
            return SendImage(payload)
        if kind == 5:
            return Pong()
        if kind == 6:
            return Bye()
        if kind == 0x81:
            position = 1
            return Welcome(string(), string(), string(), string(), returning=bool(payload[0]))
        if kind == 0x82:
            (count,) = struct.unpack("<H", payload[:2])
            position = 2
            rooms = []
            for _ in range(count):
                name = string()
                (members,) = struct.unpack("<H", payload[position:position + 2])
                position += 2
                rooms.append(RoomInfo(name, members))
            return RoomList(tuple(rooms))
        if kind == 0x83:
            return RoomEntered(string())
        if kind in (0x84, 0x88):
            (time_ms,) = struct.unpack("<Q", payload[:8])
            position = 8
            pseudo, color = string(), string()
            if kind == 0x84:
                return Message(time_ms, pseudo, color, payload[position:].decode())
            return ImageFrom(time_ms, pseudo, color, payload[position:])
        if kind == 0x85:
            return Announcement(struct.unpack("<Q", payload[:8])[0], payload[8:].decode())
        if kind == 0x86:
            return Error(ErrorCode(payload[0]), payload[1:].decode())
        if kind == 0x87:
            return Closing(payload.decode())
        if kind == 0x89:
            return History(payload.decode())
        if kind == 0x8A:
            return Ping()
        raise ValueError(f"unknown type {kind}")
