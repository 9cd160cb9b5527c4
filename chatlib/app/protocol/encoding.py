"""Encoding: a frame dataclass becomes its bytes on the wire, header included (pure, no I/O)."""

from __future__ import annotations

from chatlib.app.protocol.frames import (
    MAX_PAYLOAD,
    MAX_STR8_BYTES,
    Announcement,
    Bye,
    Closing,
    EnterRoom,
    Error,
    ErrorCode,
    Frame,
    FrameType,
    Hello,
    History,
    ImageFrom,
    Message,
    Ping,
    Pong,
    ProtocolError,
    RoomEntered,
    RoomList,
    Say,
    SendImage,
    Welcome,
)


def _utf8(text: str) -> bytes:
    """Encode text as UTF-8, turning the rare unencodable string into a ProtocolError."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ProtocolError(ErrorCode.BAD_UTF8, f"text is not encodable as UTF-8: {error}") from None


def _str8(text: str) -> bytes:
    """A str8 field: one length byte, then the UTF-8 bytes."""
    raw = _utf8(text)
    if len(raw) > MAX_STR8_BYTES:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"a short string is {len(raw)} bytes, over 255")
    return bytes((len(raw),)) + raw


def _time(time_ms: int) -> bytes:
    """A time field: 8 bytes big-endian, milliseconds since the Unix epoch."""
    return time_ms.to_bytes(8, "big")


def _payload(frame: Frame) -> tuple[FrameType, bytes]:
    """The frame's type byte and its payload bytes."""
    match frame:
        case Say(text):
            return FrameType.SAY, _utf8(text)
        case Message(time_ms, pseudo, color, text):
            return FrameType.MESSAGE, _time(time_ms) + _str8(pseudo) + _str8(color) + _utf8(text)
        case Hello(pseudo, token):
            return FrameType.HELLO, _str8(pseudo) + _str8(token)
        case EnterRoom(room):
            return FrameType.ENTER_ROOM, _str8(room)
        case SendImage(data):
            return FrameType.IMAGE, bytes(data)
        case Pong():
            return FrameType.PONG, b""
        case Bye():
            return FrameType.BYE, b""
        case Welcome(user_id, pseudo, color, token, returning):
            fields = _str8(user_id) + _str8(pseudo) + _str8(color) + _str8(token)
            return FrameType.WELCOME, bytes((int(returning),)) + fields
        case RoomList(rooms):
            entries = b"".join(_str8(room.name) + room.members.to_bytes(2, "big") for room in rooms)
            return FrameType.ROOMS, len(rooms).to_bytes(2, "big") + entries
        case RoomEntered(room):
            return FrameType.ENTERED, _str8(room)
        case Announcement(time_ms, text):
            return FrameType.ANNOUNCE, _time(time_ms) + _utf8(text)
        case Error(code, text):
            return FrameType.ERROR, bytes((int(code),)) + _utf8(text)
        case Closing(reason):
            return FrameType.CLOSING, _utf8(reason)
        case ImageFrom(time_ms, pseudo, color, data):
            return FrameType.IMAGE_FROM, _time(time_ms) + _str8(pseudo) + _str8(color) + data
        case History(entries_json):
            return FrameType.HISTORY, _utf8(entries_json)
        case Ping():
            return FrameType.PING, b""
    raise TypeError(f"not a frame: {frame!r}")


def encode(frame: Frame) -> bytes:
    """The bytes of one frame on the wire, header included, with the smallest length width."""
    return _frame_bytes(*_payload(frame))


def _frame_bytes(frame_type: FrameType, payload: bytes) -> bytes:
    """A payload behind its header: type, length width, length."""
    length = len(payload)
    if length > MAX_PAYLOAD[frame_type]:
        raise ProtocolError(
            ErrorCode.TOO_LARGE,
            f"{frame_type.name} payload is {length} bytes, over {MAX_PAYLOAD[frame_type]}",
        )
    if length < 0x100:
        return bytes((frame_type, 1, length)) + payload
    width = 2 if length < 0x10000 else 4
    return bytes((frame_type, width)) + length.to_bytes(width, "big") + payload


class MessageEncoder:
    """Encodes the MESSAGE frames of one sender, whose pseudo and color are encoded once for all.

    ``MessageEncoder(pseudo, color).encode(time_ms, text)`` gives the same bytes as
    ``encode(Message(time_ms, pseudo, color, text))``, several times faster: the server encodes
    every message it relays, so that is where it spends its time.
    """

    __slots__ = ("_sender",)

    def __init__(self, pseudo: str, color: str) -> None:
        self._sender = _str8(pseudo) + _str8(color)

    def encode(self, time_ms: int, text: str) -> bytes:
        """The MESSAGE frame of one line of ``text`` said at ``time_ms``."""
        return _frame_bytes(FrameType.MESSAGE, _time(time_ms) + self._sender + _utf8(text))

    def encode_all(self, time_ms: int, texts: list[str]) -> list[bytes]:
        """The MESSAGE frames of several lines said at ``time_ms``: the same bytes as ``encode`` gives
        for each, with what they share (time, pseudo, color) put together once."""
        shared = _time(time_ms) + self._sender
        frames = []
        for text in texts:
            raw = _utf8(text)
            length = len(shared) + len(raw)
            if length < 0x100:  # the usual case: a one-byte length, its header looked up
                frames.append(_MESSAGE_HEADERS[length] + shared + raw)
            else:
                frames.append(_frame_bytes(FrameType.MESSAGE, shared + raw))
        return frames


_MESSAGE_HEADERS = [bytes((FrameType.MESSAGE, 1, length)) for length in range(0x100)]
