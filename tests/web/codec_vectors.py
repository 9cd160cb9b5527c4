"""Frames encoded by the Python protocol package, and what the page's protocol.js must make of them."""

from __future__ import annotations

from typing import Any

from chatlib.app.protocol import (
    MAX_PAYLOAD,
    Announcement,
    Bye,
    Closing,
    EnterRoom,
    Error,
    ErrorCode,
    Frame,
    FrameDecoder,
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
    encode,
)

BIG_IMAGE = bytes(range(256)) * 300  # 76,800 bytes: a length 4 bytes wide
T = 1_700_000_000_000


def as_js(frame: Frame) -> dict[str, Any]:
    """A frame as protocol.js represents it: its class name as ``kind``, fields in camelCase, bytes in hex."""
    match frame:
        case Welcome(user_id, pseudo, color, token, returning):
            fields = {"userId": user_id, "pseudo": pseudo, "color": color, "token": token, "returning": returning}
        case RoomList(rooms):
            fields = {"rooms": [{"name": room.name, "members": room.members} for room in rooms]}
        case RoomEntered(room) | EnterRoom(room):
            fields = {"room": room}
        case Message(time_ms, pseudo, color, text):
            fields = {"timeMs": time_ms, "pseudo": pseudo, "color": color, "text": text}
        case Announcement(time_ms, text):
            fields = {"timeMs": time_ms, "text": text}
        case Error(code, text):
            fields = {"code": int(code), "text": text}
        case Closing(reason):
            fields = {"reason": reason}
        case ImageFrom(time_ms, pseudo, color, data):
            fields = {"timeMs": time_ms, "pseudo": pseudo, "color": color, "data": data.hex()}
        case History(entries_json):
            fields = {"entriesJson": entries_json}
        case Hello(pseudo, token):
            fields = {"pseudo": pseudo, "token": token}
        case Say(text):
            fields = {"text": text}
        case SendImage(data):
            fields = {"data": data.hex()}
        case _:
            fields = {}
    return {"kind": type(frame).__name__, **fields}


def server_vectors() -> list[tuple[str, int, dict[str, Any]]]:
    """(the frame's bytes in hex, the size of the pieces they are fed in, the frame as JS has it)."""
    frames: list[Frame] = [
        Welcome("0123456789abcdef", "Zoé", "#1f77b4", "t0k3n-_", returning=True),
        Welcome("00000000000000ff", "bob", "#d62728"),
        RoomList((RoomInfo("general", 2), RoomInfo("salle de jeux", 0))),
        RoomEntered("jeux"),
        Message(T, "bob", "#1f77b4", "salut"),
        Message(T + 1, "l'équipe", "#2ca02c", "é" * 1500 + " 🎉 \ufeff"),  # a length 2 bytes wide
        Announcement(T, "Annonce : bob a rejoint la chatroom"),
        Error(ErrorCode.PSEUDO_TAKEN, "the pseudo bob is already in use"),
        Closing("server shutting down"),
        ImageFrom(T, "carol", "#9467bd", BIG_IMAGE),
        History('{"room": "jeux", "entries": []}'),
        Ping(),
    ]
    chunks = [1, 7, 1000, 65536]
    return [(encode(frame).hex(), chunks[i % len(chunks)], as_js(frame)) for i, frame in enumerate(frames)]


def client_vectors() -> list[tuple[dict[str, Any], str]]:
    """(a client frame as JS has it, its bytes in hex as Python encodes them)."""
    frames: list[Frame] = [
        Hello("it4"),
        Hello("Zoé", "t0k3n"),
        EnterRoom("jeux"),
        Say("salut"),
        Say("é" * 2000),
        SendImage(BIG_IMAGE),
        Pong(),
        Bye(),
    ]
    return [(as_js(frame), encode(frame).hex()) for frame in frames]


def error_vectors() -> list[tuple[str, list[Any]]]:
    """(bytes a server must not send, in hex, [the error code, the reason] Python's decoder gives)."""
    broken = [
        bytes((0x03, 1, 0)),  # SAY: a client frame
        bytes((0x42, 1, 0)),  # no such type
        bytes((0x84, 3, 0, 0, 0)),  # width 3
        bytes((0x84, 4, 0xFF, 0xFF, 0xFF, 0xFF)),  # 4 GB announced
        bytes((0x8A, 1, 1, 0)),  # PING with a payload
        bytes((0x86, 1, 2, 99, 0x41)),  # ERROR with an unknown code
    ]
    vectors = []
    for data in broken:
        try:
            FrameDecoder("server").feed(data)
        except ProtocolError as error:
            vectors.append((data.hex(), [int(error.code), error.message]))
    return vectors


def js_max_payload() -> dict[str, int]:
    """MAX_PAYLOAD as the page's protocol.js has it: keyed by the type byte, as text (a JS object)."""
    return {str(int(frame_type)): limit for frame_type, limit in MAX_PAYLOAD.items()}
