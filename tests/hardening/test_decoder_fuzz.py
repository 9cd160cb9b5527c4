"""Hypothesis fuzzing of the frame decoder: only frames or ProtocolError, never buffering past the limits."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatlib.app.protocol import (
    MAX_PAYLOAD,
    Bye,
    ClientFrame,
    EnterRoom,
    Frame,
    FrameDecoder,
    FrameType,
    Hello,
    Pong,
    ProtocolError,
    Say,
    SendImage,
    encode,
)

CLIENT_FRAME_LIMIT = 6 + max(size for frame_type, size in MAX_PAYLOAD.items() if frame_type < 0x80)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

short_text = st.text(max_size=40)
client_frames = st.one_of(
    st.builds(Hello, short_text, short_text),
    st.builds(EnterRoom, short_text),
    st.builds(Say, st.text(max_size=300)),
    st.builds(SendImage, st.binary(max_size=300)),
    st.just(Pong()),
    st.just(Bye()),
)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (taken modulo its length), in order."""
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[start:end] for start, end in zip(points, points[1:])]


def decode_all(chunks: list[bytes]) -> tuple[list[Frame], ProtocolError | None]:
    """Feed every chunk to a server-side decoder; what it gave and the error it ended with, if any.

    Checks on the way that it never holds more than one frame's worth of bytes.
    """
    decoder = FrameDecoder("client")
    frames: list[Frame] = []
    for chunk in chunks:
        try:
            frames.extend(decoder.feed(chunk))
        except ProtocolError as error:
            frames.extend(error.frames_before)
            return frames, error
        assert decoder.pending_bytes <= decoder.pending_frame_size <= CLIENT_FRAME_LIMIT
    return frames, None


@FUZZ
@given(st.binary(max_size=2000), st.lists(st.integers(min_value=0), max_size=20))
def test_random_bytes_give_frames_or_a_protocol_error(data: bytes, cuts: list[int]) -> None:
    frames, _ = decode_all(chunked(data, cuts))
    assert all(type(frame) in (Hello, EnterRoom, Say, SendImage, Pong, Bye) for frame in frames)


@FUZZ
@given(st.lists(client_frames, max_size=8), st.lists(st.integers(min_value=0), max_size=20))
def test_valid_frames_survive_any_chunking(sent: list[ClientFrame], cuts: list[int]) -> None:
    frames, error = decode_all(chunked(b"".join(encode(frame) for frame in sent), cuts))
    assert error is None
    assert frames == sent


mutations = st.lists(
    st.tuples(st.sampled_from(["flip", "insert", "delete"]), st.integers(min_value=0), st.integers(0, 255)),
    min_size=1,
    max_size=6,
)


def mutate(data: bytes, changes: list[tuple[str, int, int]]) -> bytes:
    """``data`` with some bytes changed, inserted or deleted."""
    mutable = bytearray(data)
    for kind, position, value in changes:
        where = position % (len(mutable) + 1)
        if kind == "insert":
            mutable.insert(where, value)
        elif mutable and kind == "flip":
            mutable[where % len(mutable)] ^= value or 1
        elif mutable:
            del mutable[where % len(mutable)]
    return bytes(mutable)


@FUZZ
@given(
    st.lists(client_frames, min_size=1, max_size=6),
    mutations,
    st.lists(st.integers(min_value=0), max_size=10),
)
def test_mutated_frames_give_frames_or_a_protocol_error(
    sent: list[ClientFrame], changes: list[tuple[str, int, int]], cuts: list[int]
) -> None:
    frames, error = decode_all(chunked(mutate(b"".join(encode(frame) for frame in sent), changes), cuts))
    assert all(type(frame) in (Hello, EnterRoom, Say, SendImage, Pong, Bye) for frame in frames)
    assert error is None or isinstance(error.code.value, int)


@FUZZ
@given(st.sampled_from([t for t in FrameType if t < 0x80]), st.integers(min_value=0, max_value=2**32 - 1))
def test_an_oversized_header_is_refused_before_its_payload(frame_type: FrameType, length: int) -> None:
    decoder = FrameDecoder("client")
    header = bytes((frame_type, 4)) + length.to_bytes(4, "big")
    if length > MAX_PAYLOAD[frame_type]:
        try:
            decoder.feed(header)
        except ProtocolError as error:
            assert error.code.name == "TOO_LARGE"
        else:
            raise AssertionError("an oversized header was accepted")
    else:
        try:
            decoder.feed(header + b"\x00" * min(length, 1000))
        except ProtocolError:
            pass  # a short payload may be malformed for its type; only the size matters here
        assert decoder.pending_bytes <= 6 + MAX_PAYLOAD[frame_type]


def test_a_large_image_arriving_slowly_is_buffered_up_to_its_declared_size_only() -> None:
    decoder = FrameDecoder("client")
    payload = b"\x89PNG" + b"\x00" * (MAX_PAYLOAD[FrameType.IMAGE] - 4)
    data = encode(SendImage(payload))
    for start in range(0, len(data) - 1, 65536):
        assert decoder.feed(data[start : min(start + 65536, len(data) - 1)]) == []
        assert decoder.pending_bytes <= len(data)
    assert decoder.feed(data[-1:]) == [SendImage(payload)]
    assert decoder.pending_bytes == 0
