"""The protocol checks judge each side against docs/PROTOCOL.md, never against the student's other side."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatlib.app.protocol import FrameDecoder, Say, encode
from chatlib.checks import Status, check, vectors
from chatlib.checks.layout import frame_fields as laid_out
from chatlib.checks.protocol import CLIENT_FRAMES, DOCUMENTED_EXAMPLES, SERVER_FRAMES, laid_out_frames
from chatlib.checks.vectors import MissingVector, frame_bytes, frame_fields
from tests.checks.helpers import broken, correct, failed_names, failure_text, statuses

ENCODE_EXAMPLES = "encode writes docs/PROTOCOL.md's worked examples byte for byte"
ENCODE_EVERY_FRAME = (
    "encode writes every frame type as documented (non-ASCII text, lengths on 1, 2 and 4 bytes)"
)
DECODE_DOCUMENTED = "the decoder reads the documented bytes of every frame type"
DECODE_ANY_WIDTH = "the decoder accepts a length on 1, 2 or 4 bytes"
DECODE_BROKEN = "the decoder refuses a broken stream at once (bad type, width, UTF-8, limits)"


@pytest.mark.parametrize("frame", [*CLIENT_FRAMES, *SERVER_FRAMES, *(f for _, f, _ in DOCUMENTED_EXAMPLES)])
def test_the_checks_layout_of_each_frame_is_the_reference_encoders(frame: object) -> None:
    assert frame_bytes(frame) == encode(frame)


def test_a_student_editions_test_vectors_give_the_checks_the_same_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the layout (a student edition), the fields come from the vectors written at release."""
    written = vectors.write_vectors(laid_out_frames(), tmp_path / vectors.VECTORS_FILE.name)
    assert written == len({vectors.vector_key(frame, width) for frame, width in laid_out_frames()})
    assert written > 40  # every frame the checks use, each width forced where the checks force it
    monkeypatch.setattr(vectors, "VECTORS_FILE", tmp_path / vectors.VECTORS_FILE.name)
    monkeypatch.setattr(vectors, "live_layout", lambda: None)
    vectors._vectors.cache_clear()
    try:
        for frame, width in laid_out_frames():
            assert frame_fields(frame, width) == laid_out(frame, width)
        with pytest.raises(MissingVector, match=r"holds no bytes for Say \(width smallest\): the checks"):
            frame_fields(Say("a sentence the checks never send"))
    finally:
        vectors._vectors.cache_clear()


def test_the_worked_examples_are_the_reference_encoders_bytes_and_cover_three_widths() -> None:
    for _, frame, documented in DOCUMENTED_EXAMPLES:
        assert encode(frame) == documented
    widths = {frame_bytes(frame)[1] for frame in [*CLIENT_FRAMES, *SERVER_FRAMES]}
    assert widths == {1, 2, 4}


async def test_a_consistent_little_endian_codec_fails_with_the_byte_order_named() -> None:
    report = await check("protocol", show=None, **broken("little_endian_protocol.py", "protocol"))
    assert failed_names(report)[:2] == [ENCODE_EXAMPLES, ENCODE_EVERY_FRAME]
    assert DECODE_DOCUMENTED in failed_names(report)
    examples = failure_text(report, ENCODE_EXAMPLES)
    assert (
        "the bytes of the documented MESSAGE from bob differ from docs/PROTOCOL.md, first in its `time`"
        in examples
    )
    # the frame field by field, the first difference marked with ">"
    assert "> time           00 00 01 8b cf e5 68 00" in examples
    assert "00 68 e5 cf 8b 01 00 00" in examples
    assert "  pseudo         62 6f 62" in examples
    assert (
        "numbers on the wire are big-endian (most significant byte first): n.to_bytes(8, 'big')" in examples
    )
    every_frame = failure_text(report, ENCODE_EVERY_FRAME)
    assert "> length  07 d0" in every_frame and "d0 07" in every_frame
    decoding = failure_text(report, DECODE_DOCUMENTED)
    assert ">   time_ms: expected 1700000000000, arrived 29526077130997760" in decoding
    assert "its 8 bytes were read little-endian, and numbers on the wire are big-endian" in decoding


async def test_a_correct_codec_written_with_struct_passes_everything() -> None:
    report = await check("protocol", show=None, **correct("struct_protocol.py", "protocol"))
    assert report.passed, report.text()
    assert report.count(Status.PASS) == 8


async def test_a_decoder_that_checks_limits_only_after_the_payload_is_caught() -> None:
    class LateLimitDecoder(FrameDecoder):  # type: ignore[misc]
        """The reference decoder, but an oversized header only waits for its payload."""

        def feed(self, data: bytes) -> list[object]:
            if data in (bytes.fromhex("03 02 10 01"), bytes.fromhex("04 04 ff ff ff ff")):
                return []
            return super().feed(data)

    report = await check("protocol", show=None, encode=encode, decoder=LateLimitDecoder)
    assert failed_names(report) == [DECODE_BROKEN]
    text = failure_text(report, DECODE_BROKEN)
    assert "the decoder waits for more bytes instead of refusing a broken stream at once" in text
    assert "the header alone of a SAY of 4097 bytes: 03 02 10 01" in text
    assert "refuse it from the header, before the payload" in text


async def test_a_decoder_that_accepts_the_other_sides_frames_is_caught() -> None:
    class AnySideDecoder:
        """Decodes with whichever side the type byte says: accepts a server's PING from a client."""

        def __init__(self, side: str) -> None:
            self.side = side

        def feed(self, data: bytes) -> list[object]:
            side = "server" if data[0] >= 0x80 else "client"
            return FrameDecoder(side).feed(data)

    report = await check("protocol", show=None, decoder=AnySideDecoder)
    text = failure_text(report, DECODE_BROKEN)
    assert "the decoder accepted a broken stream" in text
    assert "a server's PING sent by a client: 8a 01 00" in text


async def test_an_encoder_ignoring_the_limits_is_caught() -> None:
    def encode_without_limits(frame: object) -> bytes:
        try:
            return encode(frame)  # type: ignore[arg-type]
        except ValueError:
            return b"\x03\x02\x10\x01" + b"x" * 4097

    report = await check("protocol", show=None, encode=encode_without_limits)
    text = failure_text(report, "encode refuses what the protocol cannot carry (the limits)")
    assert "encode wrote a frame the protocol cannot carry" in text
    assert statuses(report)[ENCODE_EVERY_FRAME] is Status.PASS
