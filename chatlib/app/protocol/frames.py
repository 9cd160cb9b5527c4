"""The frames of the chat protocol as dataclasses, their type bytes, error codes and size limits.

Every frame is ``type (1 byte) | width W (1 byte: 1, 2 or 4) | length (W bytes) | payload``;
``encoding`` turns a frame into those bytes and ``decoding`` turns bytes back into frames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

__all__ = [
    "MAX_PSEUDO_LENGTH",
    "MAX_ROOM_LENGTH",
    "MAX_TEXT_BYTES",
    "MAX_IMAGE_BYTES",
    "MAX_HISTORY_BYTES",
    "MAX_STR8_BYTES",
    "MAX_REASON_BYTES",
    "MAX_ROOMS_LISTED",
    "COLOR_PATTERN",
    "ErrorCode",
    "ProtocolError",
    "FrameType",
    "Hello",
    "EnterRoom",
    "Say",
    "SendImage",
    "Pong",
    "Bye",
    "Welcome",
    "RoomInfo",
    "RoomList",
    "RoomEntered",
    "Message",
    "Announcement",
    "Error",
    "Closing",
    "ImageFrom",
    "History",
    "Ping",
    "ClientFrame",
    "ServerFrame",
    "Frame",
    "Side",
    "MAX_PAYLOAD",
    "MAX_FRAME_BYTES",
]

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
COLOR_PATTERN = re.compile(r"#[0-9a-f]{6}")


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
