"""Decoding: bytes, chunked any way at all, become frames, with every malformed input refused.

``FrameDecoder`` is an incremental parser (sans-IO): feed it what a read brought, get back the
frames completed so far. It checks each header as soon as it arrives, so an oversized frame is
refused before its payload is buffered.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from chatlib.app.protocol.frames import (
    COLOR_PATTERN,
    MAX_PAYLOAD,
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
    RoomInfo,
    RoomList,
    Say,
    SendImage,
    Side,
    Welcome,
)


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
        if not COLOR_PATTERN.fullmatch(color):
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


_SAY = FrameType.SAY
_FROM_CLIENT = _kinds(lambda frame_type: frame_type < 0x80)
_FROM_SERVER = _kinds(lambda frame_type: frame_type >= 0x80)


class FrameDecoder:
    """Turns bytes, chunked any way at all, into frames; one decoder per connection and direction.

    ``from_side`` names who sends the bytes: the server decodes with ``FrameDecoder("client")``,
    the client with ``FrameDecoder("server")``. Each header is checked as soon as it arrives, so
    an oversized frame is refused before its payload is buffered. After an error the decoder
    stays failed: the stream has lost its framing and nothing after it can be trusted.

    A server holds one per connection, so it is kept small: ``__slots__``, and no buffer of its
    own while no frame is half received.
    """

    __slots__ = ("_kinds", "_from_side", "_buffer", "_bytes_needed", "_failure")

    def __init__(self, from_side: Side) -> None:
        if from_side not in ("client", "server"):
            raise ValueError(f"from_side must be 'client' or 'server', not {from_side!r}")
        self._kinds = _FROM_CLIENT if from_side == "client" else _FROM_SERVER
        self._from_side = from_side
        self._buffer: bytes | bytearray = b""  # the start of a frame, while one is half received
        self._bytes_needed = 0  # buffer length that completes the frame in progress, once known
        self._failure: ProtocolError | None = None

    @property
    def pending_bytes(self) -> int:
        """Bytes received but not yet part of a whole frame."""
        return len(self._buffer)

    @property
    def pending_frame_size(self) -> int:
        """The size the frame being received will have, header included, as its header announced;
        until the header is complete, the bytes received so far."""
        return self._bytes_needed or len(self._buffer)  # the first, once known, is never the smaller

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
        kinds, size = self._kinds, len(data)
        frames: list[Frame] = []
        offset = 0
        self._bytes_needed = 0
        try:
            while offset < size:
                kind = kinds.get(data[offset])
                if kind is not None and offset + 3 <= size and data[offset + 1] == 1:
                    # the usual header, read here at once: a known type and a one-byte length
                    payload_start, payload_end = offset + 3, offset + 3 + data[offset + 2]
                    if payload_end - payload_start > kind.max_payload:
                        self._check_header(view, offset)  # raises TOO_LARGE, saying why
                else:
                    header = self._check_header(view, offset)  # any other header, or an error
                    if header is None:
                        break
                    kind, payload_start, payload_end = header
                if payload_end > size:
                    self._bytes_needed = payload_end - offset
                    break
                payload = view[payload_start:payload_end]
                if kind.frame_type is _SAY:  # most frames a server decodes: no reader needed
                    frames.append(Say(_decode_utf8(payload, "text")))
                else:
                    frames.append(kind.parse(_PayloadReader(payload, kind.frame_type)))
                offset = payload_end
        except ProtocolError as error:
            self._failure = ProtocolError(error.code, error.message)
            self._buffer = b""
            error.frames_before = tuple(frames)
            raise
        self._buffer = bytearray(view[offset:]) if offset < len(data) else b""
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
