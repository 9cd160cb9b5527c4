"""The wire protocol on its own: encoding, decoding under any chunking, and every kind of bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatlib.app.protocol import (
    MAX_FRAME_BYTES,
    MAX_IMAGE_BYTES,
    MAX_PAYLOAD,
    MAX_TEXT_BYTES,
    Announcement,
    Bye,
    Closing,
    EnterRoom,
    Error,
    ErrorCode,
    Frame,
    FrameDecoder,
    FrameType,
    Hello,
    History,
    ImageFrom,
    Message,
    MessageEncoder,
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
    wording,
)

CLIENT_SAMPLES: list[Frame] = [
    Hello("it4"),
    Hello("Zoé", token="0123456789abcdef"),
    EnterRoom("général"),
    Say("bonjour à tous"),
    Say(""),
    Say("x" * MAX_TEXT_BYTES),
    SendImage(b"\x89PNG\r\n\x1a\n" + bytes(range(256))),
    Pong(),
    Bye(),
]
SERVER_SAMPLES: list[Frame] = [
    Welcome("u1", "it4", "#d03b3b"),
    Welcome("u2", "Zoé", "#2e8b57", token="secret", returning=True),
    RoomList(()),
    RoomList((RoomInfo("general", 0), RoomInfo("jeux", 3), RoomInfo("ç" * 32, 65535))),
    RoomEntered("jeux"),
    Message(1_700_000_000_123, "bob", "#1f77b4", "salut"),
    Message(0, "", "#000000", ""),
    Announcement(2**64 - 1, wording.joined("bob")),
    Error(ErrorCode.PSEUDO_TAKEN, "pseudo already in use"),
    Closing("server shutting down"),
    ImageFrom(5, "bob", "#abcdef", b"\xff\xd8\xff"),
    History('[{"pseudo": "bob", "text": "hi"}]'),
    Ping(),
]


def decode_all(side: str, data: bytes) -> list[Frame]:
    """Decode a whole stream in one feed."""
    return FrameDecoder(side).feed(data)


@pytest.mark.parametrize("frame", CLIENT_SAMPLES, ids=repr)
def test_client_frames_round_trip(frame: Frame) -> None:
    assert decode_all("client", encode(frame)) == [frame]


@pytest.mark.parametrize("frame", SERVER_SAMPLES, ids=repr)
def test_server_frames_round_trip(frame: Frame) -> None:
    assert decode_all("server", encode(frame)) == [frame]


def test_hello_it4_bytes_match_the_documented_example() -> None:
    assert encode(Hello("it4")) == bytes.fromhex("01 01 05 03 69 74 34 00")


def test_message_bytes_match_the_documented_example() -> None:
    frame = Message(1_700_000_000_000, "bob", "#1f77b4", "salut")
    assert encode(frame) == bytes.fromhex(
        "84 01 19 00 00 01 8b cf e5 68 00 03 62 6f 62 07 23 31 66 37 37 62 34 73 61 6c 75 74"
    )


@pytest.mark.parametrize(
    ("payload_size", "width"), [(0, 1), (255, 1), (256, 2), (65535, 2), (65536, 4), (MAX_IMAGE_BYTES, 4)]
)
def test_encoder_uses_the_smallest_length_width(payload_size: int, width: int) -> None:
    data = encode(SendImage(b"\x00" * payload_size))
    assert data[:2] == bytes((FrameType.IMAGE, width))
    assert int.from_bytes(data[2 : 2 + width], "big") == payload_size
    assert len(data) == 2 + width + payload_size


def test_decoder_accepts_a_wider_width_than_needed() -> None:
    assert decode_all("client", bytes.fromhex("03 04 00 00 00 02 68 69")) == [Say("hi")]


@pytest.mark.parametrize(
    "frame",
    [Say("x" * (MAX_TEXT_BYTES + 1)), Hello("p" * 256), SendImage(b"\x00" * (MAX_IMAGE_BYTES + 1))],
    ids=["long text", "long str8", "big image"],
)
def test_encoder_refuses_frames_over_the_limits(frame: Frame) -> None:
    with pytest.raises(ProtocolError) as caught:
        encode(frame)
    assert caught.value.code is ErrorCode.TOO_LARGE


def test_encoder_refuses_text_that_is_not_encodable() -> None:
    with pytest.raises(ProtocolError) as caught:
        encode(Say("lone surrogate \ud800"))
    assert caught.value.code is ErrorCode.BAD_UTF8


@given(
    st.integers(min_value=0, max_value=2**63 - 1),
    st.text(min_size=1, max_size=24),
    st.sampled_from(["#1f77b4", "#ff7f0e"]),
    st.text(max_size=300),
)
def test_a_senders_message_encoder_gives_the_bytes_of_encode(
    time_ms: int, pseudo: str, color: str, text: str
) -> None:
    try:
        expected: bytes | ProtocolError = encode(Message(time_ms, pseudo, color, text))
    except ProtocolError as error:  # a lone surrogate, say: the encoder must refuse it just as well
        expected = error
    try:
        got: bytes | ProtocolError = MessageEncoder(pseudo, color).encode(time_ms, text)
    except ProtocolError as error:
        got = error
    if isinstance(expected, ProtocolError):
        assert isinstance(got, ProtocolError) and got.code is expected.code
    else:
        assert got == expected


# --- Any chunking gives the same frames -------------------------------------------------------

UNICODE_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))
SHORT_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
COLORS = st.from_regex(r"#[0-9a-f]{6}", fullmatch=True)
TIMES = st.integers(min_value=0, max_value=2**64 - 1)

client_frames = st.one_of(
    st.builds(Hello, SHORT_TEXT, SHORT_TEXT),
    st.builds(EnterRoom, SHORT_TEXT),
    st.builds(Say, UNICODE_TEXT),
    st.builds(SendImage, st.binary(max_size=3000)),
    st.just(Pong()),
    st.just(Bye()),
)
server_frames = st.one_of(
    st.builds(Welcome, SHORT_TEXT, SHORT_TEXT, COLORS, SHORT_TEXT, st.booleans()),
    st.builds(
        RoomList,
        st.lists(st.builds(RoomInfo, SHORT_TEXT, st.integers(0, 65535)), max_size=5).map(tuple),
    ),
    st.builds(RoomEntered, SHORT_TEXT),
    st.builds(Message, TIMES, SHORT_TEXT, COLORS, UNICODE_TEXT),
    st.builds(Announcement, TIMES, UNICODE_TEXT),
    st.builds(Error, st.sampled_from(ErrorCode), SHORT_TEXT),
    st.builds(Closing, SHORT_TEXT),
    st.builds(ImageFrom, TIMES, SHORT_TEXT, COLORS, st.binary(max_size=300)),
    st.builds(History, UNICODE_TEXT),
    st.just(Ping()),
)
sides_and_streams = st.one_of(
    st.tuples(st.just("client"), st.lists(client_frames, min_size=1, max_size=8)),
    st.tuples(st.just("server"), st.lists(server_frames, min_size=1, max_size=8)),
)


def feed_in_chunks(decoder: FrameDecoder, data: bytes, cuts: list[int]) -> list[Frame]:
    """Feed ``data`` split at the given offsets, collecting every frame."""
    frames: list[Frame] = []
    bounds = [0, *sorted(set(cuts)), len(data)]
    for start, end in zip(bounds, bounds[1:]):
        frames += decoder.feed(data[start:end])
    return frames


@settings(max_examples=150, deadline=None)
@given(sides_and_streams, st.data())
def test_any_split_points_give_the_same_frames(
    side_and_frames: tuple[str, list[Frame]], data: st.DataObject
) -> None:
    side, frames = side_and_frames
    stream = b"".join(encode(frame) for frame in frames)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    decoder = FrameDecoder(side)
    assert feed_in_chunks(decoder, stream, cuts) == frames
    assert decoder.pending_bytes == 0


@settings(max_examples=30, deadline=None)
@given(sides_and_streams)
def test_one_byte_at_a_time_gives_the_same_frames(side_and_frames: tuple[str, list[Frame]]) -> None:
    side, frames = side_and_frames
    stream = b"".join(encode(frame) for frame in frames)
    decoder = FrameDecoder(side)
    assert feed_in_chunks(decoder, stream, list(range(len(stream)))) == frames


def test_many_frames_in_one_chunk() -> None:
    frames = [Say(f"message {number}") for number in range(1000)]
    assert decode_all("client", b"".join(map(encode, frames))) == frames


def test_a_large_image_arriving_in_small_chunks() -> None:
    frame = SendImage(bytes(range(256)) * 8192)
    data = encode(frame)
    decoder = FrameDecoder("client")
    received: list[Frame] = []
    for start in range(0, len(data), 4096):
        received += decoder.feed(data[start : start + 4096])
        assert decoder.pending_bytes <= MAX_FRAME_BYTES
    assert received == [frame]
    assert decoder.pending_bytes == 0


def test_pending_bytes_counts_an_incomplete_frame() -> None:
    decoder = FrameDecoder("client")
    data = encode(Say("hello")) + encode(Say("world"))
    assert decoder.feed(data[:10]) == [Say("hello")]
    assert decoder.pending_bytes == 10 - len(encode(Say("hello")))


def test_pending_frame_size_is_what_the_header_announces_once_it_is_complete() -> None:
    decoder = FrameDecoder("client")
    data = encode(Say("hello")) + encode(Say("world"))  # each a 3-byte header and 5 bytes of text
    assert decoder.feed(data[:9]) == [Say("hello")]
    assert decoder.pending_frame_size == 1, "the header is not complete: the bytes received"
    assert decoder.feed(data[9:12]) == []
    assert decoder.pending_frame_size == 8, "the header is complete: the size it announces"
    assert decoder.feed(data[12:]) == [Say("world")]
    assert decoder.pending_frame_size == 0


# --- Bad input ----------------------------------------------------------------------------------


def assert_refused(side: str, data: bytes, code: ErrorCode) -> ProtocolError:
    """Feed ``data`` and check the decoder raises exactly this error code."""
    with pytest.raises(ProtocolError) as caught:
        FrameDecoder(side).feed(data)
    assert caught.value.code is code, caught.value
    return caught.value


@pytest.mark.parametrize("type_byte", [0x00, 0x07, 0x7F, 0x80, 0x8B, 0xFF])
def test_unknown_frame_type(type_byte: int) -> None:
    assert_refused("client", bytes((type_byte,)), ErrorCode.BAD_FRAME)
    assert_refused("server", bytes((type_byte,)), ErrorCode.BAD_FRAME)


@pytest.mark.parametrize("width", [0, 3, 5, 8, 255])
def test_length_width_must_be_1_2_or_4(width: int) -> None:
    assert_refused("client", bytes((FrameType.SAY, width)), ErrorCode.BAD_FRAME)


@pytest.mark.parametrize(
    ("side", "frame_type"),
    [
        ("client", FrameType.SAY),
        ("client", FrameType.HELLO),
        ("client", FrameType.IMAGE),
        ("client", FrameType.PONG),
        ("server", FrameType.MESSAGE),
        ("server", FrameType.PING),
    ],
)
def test_a_length_over_the_limit_is_refused_from_the_header_alone(side: str, frame_type: FrameType) -> None:
    too_long = MAX_PAYLOAD[frame_type] + 1
    header = bytes((frame_type, 4)) + too_long.to_bytes(4, "big")
    assert_refused(side, header, ErrorCode.TOO_LARGE)


def test_a_huge_length_header_is_refused_without_buffering() -> None:
    decoder = FrameDecoder("client")
    with pytest.raises(ProtocolError) as caught:
        decoder.feed(bytes((FrameType.SAY, 4, 0xFF, 0xFF, 0xFF, 0xFF)))
    assert caught.value.code is ErrorCode.TOO_LARGE
    assert decoder.pending_bytes == 0


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("01 01 05 0a 69 74 34 00"),  # HELLO: pseudo claims 10 bytes, has 3
        bytes.fromhex("01 01 04 03 69 74 34"),  # HELLO: the token field is missing
        bytes.fromhex("02 01 00"),  # ENTER_ROOM: empty payload, no length byte
        bytes.fromhex("01 01 06 03 69 74 34 00 21"),  # HELLO: a byte of trailing garbage
        bytes.fromhex("02 01 03 01 61 62"),  # ENTER_ROOM: trailing garbage
    ],
    ids=["str8 too long", "missing field", "empty payload", "hello trailing", "room trailing"],
)
def test_malformed_client_payloads(data: bytes) -> None:
    assert_refused("client", data, ErrorCode.BAD_FRAME)


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("82 01 02 00 01"),  # ROOMS: one room announced, none present
        bytes.fromhex("82 01 03 00 00 ff"),  # ROOMS: trailing garbage
        bytes.fromhex("84 01 05 00 00 00 00 00"),  # MESSAGE: shorter than its time field
        bytes.fromhex("86 01 01 63"),  # ERROR: unknown error code 99
        encode(Message(1, "bob", "#1f77b4", "hi")).replace(b"#1f77b4", b"red!!!!"),  # bad color
        bytes.fromhex("8a 01 00 81 01 01 00"),  # a good PING, then a WELCOME with only its flags
    ],
    ids=["rooms missing", "rooms trailing", "message short", "error code", "bad color", "welcome short"],
)
def test_malformed_server_payloads(data: bytes) -> None:
    assert_refused("server", data, ErrorCode.BAD_FRAME)


@pytest.mark.parametrize(
    ("side", "data"),
    [
        ("client", bytes.fromhex("03 01 02 c3 28")),  # SAY: invalid continuation byte
        ("client", bytes.fromhex("01 01 04 02 ff fe 00")),  # HELLO: pseudo not UTF-8
        ("client", bytes.fromhex("03 01 03 ed a0 80")),  # SAY: an encoded surrogate
        ("server", bytes.fromhex("87 01 01 80")),  # CLOSING: lone continuation byte
    ],
)
def test_invalid_utf8(side: str, data: bytes) -> None:
    assert_refused(side, data, ErrorCode.BAD_UTF8)


@pytest.mark.parametrize("frame", SERVER_SAMPLES, ids=repr)
def test_a_server_frame_sent_to_the_server_is_unexpected(frame: Frame) -> None:
    assert_refused("client", encode(frame), ErrorCode.UNEXPECTED_FRAME)


@pytest.mark.parametrize("frame", CLIENT_SAMPLES, ids=repr)
def test_a_client_frame_sent_to_the_client_is_unexpected(frame: Frame) -> None:
    assert_refused("server", encode(frame), ErrorCode.UNEXPECTED_FRAME)


def test_frames_before_an_error_are_kept_on_the_error() -> None:
    error = assert_refused("client", encode(Say("one")) + encode(Say("two")) + b"\x00", ErrorCode.BAD_FRAME)
    assert error.frames_before == (Say("one"), Say("two"))


def test_the_decoder_stays_failed_after_an_error() -> None:
    decoder = FrameDecoder("client")
    with pytest.raises(ProtocolError):
        decoder.feed(b"\x00")
    with pytest.raises(ProtocolError) as caught:
        decoder.feed(encode(Say("valid now")))
    assert caught.value.code is ErrorCode.BAD_FRAME
    assert caught.value.frames_before == ()


def test_the_decoder_side_must_be_client_or_server() -> None:
    with pytest.raises(ValueError):
        FrameDecoder("both")  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["client", "server"]), st.lists(st.binary(max_size=64), max_size=6))
def test_random_bytes_raise_only_protocol_errors(side: str, chunks: list[bytes]) -> None:
    decoder = FrameDecoder(side)  # type: ignore[arg-type]
    try:
        for chunk in chunks:
            decoder.feed(chunk)
            assert decoder.pending_bytes <= MAX_FRAME_BYTES
    except ProtocolError as error:
        assert isinstance(error.code, ErrorCode)


@settings(max_examples=200, deadline=None)
@given(sides_and_streams, st.data())
def test_corrupted_streams_raise_only_protocol_errors(
    side_and_frames: tuple[str, list[Frame]], data: st.DataObject
) -> None:
    side, frames = side_and_frames
    stream = bytearray(b"".join(encode(frame) for frame in frames))
    position = data.draw(st.integers(0, len(stream) - 1))
    stream[position] = data.draw(st.integers(0, 255))
    try:
        FrameDecoder(side).feed(bytes(stream))  # type: ignore[arg-type]
    except ProtocolError as error:
        assert isinstance(error.code, ErrorCode)


# --- Wording ------------------------------------------------------------------------------------


def test_wording_matches_the_lab_sheet_byte_for_byte() -> None:
    assert wording.joined("it4") == "Annonce : it4 a rejoint la chatroom"
    assert wording.left("it4") == "Annonce : it4 a quitté la chatroom"
    assert wording.you_said("salut") == "Vous avez dit : salut"
    assert wording.said("it4", "salut") == "it4 a dit : salut"
    assert wording.welcome_back("it4") == "Welcome back it4 !"
    assert wording.is_back("it4") == "it4 est de retour !"


def test_a_room_change_is_worded_as_one_in_the_lab_sheets_style() -> None:
    assert wording.moved_to("it4", "jeux") == "Annonce : it4 passe dans le salon jeux"
    assert wording.arrived_from("it4", "général") == "Annonce : it4 arrive du salon général"
