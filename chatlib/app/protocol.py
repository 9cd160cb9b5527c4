"""The chat app's binary wire protocol, sans-IO: frames as dataclasses, ``encode`` and a decoder.

Every frame is ``type (1 byte) | width W (1 byte: 1, 2 or 4) | length (W bytes) | payload``.
Nothing here touches a socket or an event loop, so the same code serves the server, the client
and the tests, and every rule can be tested with plain bytes. See docs/PROTOCOL.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Callable, Literal, NamedTuple

MAX_PSEUDO_LENGTH = 24  # characters
MAX_ROOM_LENGTH = 32  # characters
MAX_TEXT_BYTES = 4096
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_HISTORY_BYTES = 1024 * 1024
MAX_STR8_BYTES = 255
MAX_REASON_BYTES = 1024  # ERROR and CLOSING texts
MAX_ROOMS_LISTED = 1000

_STR8_FIELD = 1 + MAX_STR8_BYTES
_TIME_FIELD = 8
_ROOM_ENTRY = 1 + MAX_STR8_BYTES + 2
_COLOR_PATTERN = re.compile(r"#[0-9a-f]{6}")


class ErrorCode(IntEnum):
    """Why the server refused something; carried by the ERROR frame and by ProtocolError."""

    BAD_FRAME = 1
    TOO_LARGE = 2
    BAD_UTF8 = 3
    UNEXPECTED_FRAME = 4
    PSEUDO_TAKEN = 5
    BAD_PSEUDO = 6
    BAD_ROOM = 7
    RATE_LIMITED = 8
    SERVER_FULL = 9
    TIMEOUT = 10
    BAD_IMAGE = 11
    BAD_TOKEN = 12
    TOO_SLOW = 13


class ProtocolError(ValueError):
    """The one error the decoder raises (and encode, for a frame that breaks the limits).

    ``frames_before`` holds the good frames the same ``feed`` call decoded before the bad one,
    so a server can still act on them before it answers the error.
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.frames_before: tuple[Frame, ...] = ()


class FrameType(IntEnum):
    """The type byte of every frame: 0x0_ from the client, 0x8_ from the server."""

    HELLO = 0x01
    ENTER_ROOM = 0x02
    SAY = 0x03
    IMAGE = 0x04
    PONG = 0x05
    BYE = 0x06
    WELCOME = 0x81
    ROOMS = 0x82
    ENTERED = 0x83
    MESSAGE = 0x84
    ANNOUNCE = 0x85
    ERROR = 0x86
    CLOSING = 0x87
    IMAGE_FROM = 0x88
    HISTORY = 0x89
    PING = 0x8A


# --- Client -> server frames -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    """First frame of a session: the pseudo wanted, and the token of a returning user (or "")."""

    pseudo: str
    token: str = ""


@dataclass(frozen=True, slots=True)
class EnterRoom:
    """Join a room, creating it if it does not exist."""

    room: str


@dataclass(frozen=True, slots=True)
class Say:
    """A line of chat for the others of the sender's room."""

    text: str


@dataclass(frozen=True, slots=True)
class SendImage:
    """A PNG or JPEG file for the others of the room; the server checks it (see images.py)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Pong:
    """The answer to the server's PING."""


@dataclass(frozen=True, slots=True)
class Bye:
    """The client leaves on purpose."""


# --- Server -> client frames -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Welcome:
    """The server accepted the HELLO: who the client is from now on."""

    user_id: str
    pseudo: str
    color: str
    token: str = ""
    returning: bool = False


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """One room of a ROOMS list (a field, not a frame)."""

    name: str
    members: int


@dataclass(frozen=True, slots=True)
class RoomList:
    """The rooms that exist now, with how many people are in each."""

    rooms: tuple[RoomInfo, ...]


@dataclass(frozen=True, slots=True)
class RoomEntered:
    """The client is now in this room."""

    room: str


@dataclass(frozen=True, slots=True)
class Message:
    """Someone said something in the room; time_ms is when the server received it."""

    time_ms: int
    pseudo: str
    color: str
    text: str


@dataclass(frozen=True, slots=True)
class Announcement:
    """A notice from the server to the room, such as an arrival or a departure."""

    time_ms: int
    text: str


@dataclass(frozen=True, slots=True)
class Error:
    """Something the client sent was refused, and why."""

    code: ErrorCode
    text: str


@dataclass(frozen=True, slots=True)
class Closing:
    """The server is about to close the connection, and why."""

    reason: str


@dataclass(frozen=True, slots=True)
class ImageFrom:
    """Someone of the room sent an image, checked by the server; the bytes are the file's."""

    time_ms: int
    pseudo: str
    color: str
    data: bytes


@dataclass(frozen=True, slots=True)
class History:
    """The room's recent conversation, as JSON (schema and decoding in history.py)."""

    entries_json: str


@dataclass(frozen=True, slots=True)
class Ping:
    """Are you still there? The client answers PONG."""


ClientFrame = Hello | EnterRoom | Say | SendImage | Pong | Bye
ServerFrame = (
    Welcome | RoomList | RoomEntered | Message | Announcement | Error | Closing | ImageFrom | History | Ping
)
Frame = ClientFrame | ServerFrame
Side = Literal["client", "server"]

# The largest payload each frame type may carry: the decoder checks it from the header.
MAX_PAYLOAD: dict[FrameType, int] = {
    FrameType.HELLO: 2 * _STR8_FIELD,
    FrameType.ENTER_ROOM: _STR8_FIELD,
    FrameType.SAY: MAX_TEXT_BYTES,
    FrameType.IMAGE: MAX_IMAGE_BYTES,
    FrameType.PONG: 0,
    FrameType.BYE: 0,
    FrameType.WELCOME: 1 + 4 * _STR8_FIELD,
    FrameType.ROOMS: 2 + MAX_ROOMS_LISTED * _ROOM_ENTRY,
    FrameType.ENTERED: _STR8_FIELD,
    FrameType.MESSAGE: _TIME_FIELD + 2 * _STR8_FIELD + MAX_TEXT_BYTES,
    FrameType.ANNOUNCE: _TIME_FIELD + MAX_TEXT_BYTES,
    FrameType.ERROR: 1 + MAX_REASON_BYTES,
    FrameType.CLOSING: MAX_REASON_BYTES,
    FrameType.IMAGE_FROM: _TIME_FIELD + 2 * _STR8_FIELD + MAX_IMAGE_BYTES,
    FrameType.HISTORY: MAX_HISTORY_BYTES,
    FrameType.PING: 0,
}
MAX_FRAME_BYTES = 6 + max(MAX_PAYLOAD.values())


# --- Encoding ----------------------------------------------------------------------------------


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


# --- Decoding ----------------------------------------------------------------------------------


class _PayloadReader:
    """Reads the fields of one payload in order, raising ProtocolError on anything malformed."""

    __slots__ = ("_view", "_offset", "_type")

    def __init__(self, view: memoryview, frame_type: FrameType) -> None:
        self._view = view
        self._offset = 0
        self._type = frame_type

    def _take(self, size: int, what: str) -> memoryview:
        end = self._offset + size
        if end > len(self._view):
            raise ProtocolError(ErrorCode.BAD_FRAME, f"{self._type.name}: {what} runs past the payload")
        field = self._view[self._offset : end]
        self._offset = end
        return field

    def u8(self, what: str) -> int:
        """A one-byte unsigned integer."""
        return self._take(1, what)[0]

    def u16(self, what: str) -> int:
        """A two-byte big-endian unsigned integer."""
        return int.from_bytes(self._take(2, what), "big")

    def time(self) -> int:
        """An 8-byte time in milliseconds."""
        return int.from_bytes(self._take(8, "time"), "big")

    def str8(self, what: str) -> str:
        """A length byte, then that many bytes of UTF-8."""
        return _decode_utf8(self._take(self.u8(what), what), what)

    def color(self) -> str:
        """A str8 holding a "#rrggbb" color."""
        color = self.str8("color")
        if not _COLOR_PATTERN.fullmatch(color):
            raise ProtocolError(ErrorCode.BAD_FRAME, f"{self._type.name}: color {color!r} is not #rrggbb")
        return color

    def rest_text(self, what: str) -> str:
        """The rest of the payload, as UTF-8 text."""
        return _decode_utf8(self._take(len(self._view) - self._offset, what), what)

    def rest_blob(self) -> bytes:
        """The rest of the payload, as raw bytes."""
        return bytes(self._take(len(self._view) - self._offset, "data"))

    def end(self) -> None:
        """Check that nothing is left over after the last field."""
        if self._offset != len(self._view):
            extra = len(self._view) - self._offset
            raise ProtocolError(ErrorCode.BAD_FRAME, f"{self._type.name}: {extra} bytes too many at the end")


def _decode_utf8(raw: memoryview, what: str) -> str:
    """Decode UTF-8 strictly: invalid bytes are the peer's error, not ours to guess at."""
    try:
        return str(raw, "utf-8")
    except UnicodeDecodeError as error:
        raise ProtocolError(ErrorCode.BAD_UTF8, f"{what} is not valid UTF-8 ({error.reason})") from None


def _parse_hello(fields: _PayloadReader) -> Hello:
    frame = Hello(fields.str8("pseudo"), fields.str8("token"))
    fields.end()
    return frame


def _parse_enter_room(fields: _PayloadReader) -> EnterRoom:
    frame = EnterRoom(fields.str8("room"))
    fields.end()
    return frame


def _parse_say(fields: _PayloadReader) -> Say:
    return Say(fields.rest_text("text"))


def _parse_image(fields: _PayloadReader) -> SendImage:
    return SendImage(fields.rest_blob())


def _parse_pong(fields: _PayloadReader) -> Pong:
    fields.end()
    return Pong()


def _parse_bye(fields: _PayloadReader) -> Bye:
    fields.end()
    return Bye()


def _parse_welcome(fields: _PayloadReader) -> Welcome:
    flags = fields.u8("flags")
    frame = Welcome(
        user_id=fields.str8("user_id"),
        pseudo=fields.str8("pseudo"),
        color=fields.color(),
        token=fields.str8("token"),
        returning=bool(flags & 1),
    )
    fields.end()
    return frame


def _parse_rooms(fields: _PayloadReader) -> RoomList:
    count = fields.u16("room count")
    rooms = tuple(RoomInfo(fields.str8("room name"), fields.u16("member count")) for _ in range(count))
    fields.end()
    return RoomList(rooms)


def _parse_entered(fields: _PayloadReader) -> RoomEntered:
    frame = RoomEntered(fields.str8("room"))
    fields.end()
    return frame


def _parse_message(fields: _PayloadReader) -> Message:
    return Message(fields.time(), fields.str8("pseudo"), fields.color(), fields.rest_text("text"))


def _parse_announce(fields: _PayloadReader) -> Announcement:
    return Announcement(fields.time(), fields.rest_text("text"))


def _parse_error(fields: _PayloadReader) -> Error:
    code = fields.u8("error code")
    if code not in ErrorCode._value2member_map_:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"ERROR: unknown error code {code}")
    return Error(ErrorCode(code), fields.rest_text("text"))


def _parse_closing(fields: _PayloadReader) -> Closing:
    return Closing(fields.rest_text("reason"))


def _parse_image_from(fields: _PayloadReader) -> ImageFrom:
    return ImageFrom(fields.time(), fields.str8("pseudo"), fields.color(), fields.rest_blob())


def _parse_history(fields: _PayloadReader) -> History:
    return History(fields.rest_text("history"))


def _parse_ping(fields: _PayloadReader) -> Ping:
    fields.end()
    return Ping()


_PARSERS: dict[FrameType, Callable[[_PayloadReader], Frame]] = {
    FrameType.HELLO: _parse_hello,
    FrameType.ENTER_ROOM: _parse_enter_room,
    FrameType.SAY: _parse_say,
    FrameType.IMAGE: _parse_image,
    FrameType.PONG: _parse_pong,
    FrameType.BYE: _parse_bye,
    FrameType.WELCOME: _parse_welcome,
    FrameType.ROOMS: _parse_rooms,
    FrameType.ENTERED: _parse_entered,
    FrameType.MESSAGE: _parse_message,
    FrameType.ANNOUNCE: _parse_announce,
    FrameType.ERROR: _parse_error,
    FrameType.CLOSING: _parse_closing,
    FrameType.IMAGE_FROM: _parse_image_from,
    FrameType.HISTORY: _parse_history,
    FrameType.PING: _parse_ping,
}


class _FrameKind(NamedTuple):
    """What the decoder needs to know about one frame type, looked up once per frame."""

    frame_type: FrameType
    max_payload: int
    parse: Callable[[_PayloadReader], Frame]


def _kinds(accepted: Callable[[FrameType], bool]) -> dict[int, _FrameKind]:
    """The frame kinds one side sends, keyed by their type byte."""
    return {t.value: _FrameKind(t, MAX_PAYLOAD[t], _PARSERS[t]) for t in FrameType if accepted(t)}


_FROM_CLIENT = _kinds(lambda frame_type: frame_type < 0x80)
_FROM_SERVER = _kinds(lambda frame_type: frame_type >= 0x80)


class FrameDecoder:
    """Turns bytes, chunked any way at all, into frames; one decoder per connection and direction.

    ``from_side`` names who sends the bytes: the server decodes with ``FrameDecoder("client")``,
    the client with ``FrameDecoder("server")``. Each header is checked as soon as it arrives, so
    an oversized frame is refused before its payload is buffered. After an error the decoder
    stays failed: the stream has lost its framing and nothing after it can be trusted.
    """

    def __init__(self, from_side: Side) -> None:
        if from_side not in ("client", "server"):
            raise ValueError(f"from_side must be 'client' or 'server', not {from_side!r}")
        self._kinds = _FROM_CLIENT if from_side == "client" else _FROM_SERVER
        self._from_side = from_side
        self._buffer = bytearray()
        self._bytes_needed = 0  # buffer length that completes the frame in progress, once known
        self._failure: ProtocolError | None = None

    @property
    def pending_bytes(self) -> int:
        """Bytes received but not yet part of a whole frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        """Take the bytes a read brought and return every frame they complete, in order."""
        if self._failure is not None:
            raise self._failure
        if self._buffer:
            self._buffer += data
            if len(self._buffer) < self._bytes_needed:
                return []  # a large payload still arriving: just collect it, no copy
            data = bytes(self._buffer)
        view = memoryview(data)
        frames: list[Frame] = []
        offset = 0
        self._bytes_needed = 0
        try:
            while True:
                header = self._check_header(view, offset)
                if header is None:
                    break
                kind, payload_start, payload_end = header
                if payload_end > len(data):
                    self._bytes_needed = payload_end - offset
                    break
                frames.append(kind.parse(_PayloadReader(view[payload_start:payload_end], kind.frame_type)))
                offset = payload_end
        except ProtocolError as error:
            self._failure = ProtocolError(error.code, error.message)
            self._buffer = bytearray()
            error.frames_before = tuple(frames)
            raise
        self._buffer = bytearray(view[offset:])
        return frames

    def _check_header(self, view: memoryview, offset: int) -> tuple[_FrameKind, int, int] | None:
        """Validate as much of the header at ``offset`` as has arrived; return where the payload lies.

        Returns None when the header is not complete yet.
        """
        available = len(view) - offset
        if available < 1:
            return None
        type_byte = view[offset]
        kind = self._kinds.get(type_byte)
        if kind is None:
            if type_byte in FrameType._value2member_map_:
                raise ProtocolError(
                    ErrorCode.UNEXPECTED_FRAME,
                    f"{FrameType(type_byte).name} is not a frame the {self._from_side} sends",
                )
            raise ProtocolError(ErrorCode.BAD_FRAME, f"unknown frame type 0x{type_byte:02x}")
        if available < 2:
            return None
        width = view[offset + 1]
        if width not in (1, 2, 4):
            raise ProtocolError(ErrorCode.BAD_FRAME, f"length width must be 1, 2 or 4, not {width}")
        if available < 2 + width:
            return None
        length = (
            view[offset + 2] if width == 1 else int.from_bytes(view[offset + 2 : offset + 2 + width], "big")
        )
        if length > kind.max_payload:
            raise ProtocolError(
                ErrorCode.TOO_LARGE,
                f"{kind.frame_type.name} of {length} bytes is over its limit of {kind.max_payload}",
            )
        payload_start = offset + 2 + width
        return kind, payload_start, payload_start + length
