"""Image checks and ASCII-art rendering, on images generated here with Pillow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chatlib.app.protocol.history import ImageFacts
from chatlib.app.shared.images import (
    MAX_IMAGE_BYTES,
    BadImage,
    check_image,
    read_image_file,
    render_ascii_art,
)
from chatlib.app.shared.sample_image import SAMPLE_SIZE, sample_png, write_sample_png
from tests.app.image_samples import bomb_png, gif, jpeg, truncated

SGR = re.compile(r"\x1b\[[0-9;]*m")


def test_the_sample_image_is_a_small_png_made_the_same_way_every_time(tmp_path: Path) -> None:
    data = sample_png()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data == sample_png()
    assert check_image(data) == ImageFacts("PNG", *SAMPLE_SIZE, len(data))
    assert write_sample_png(tmp_path / "bubble.png").read_bytes() == data


def test_a_jpeg_is_accepted() -> None:
    data = jpeg((40, 30))
    assert check_image(data) == ImageFacts("JPEG", 40, 30, len(data))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the image is empty"),
        (b"hello, not an image", "this is not a PNG or JPEG image"),
        (gif(), "this is not a PNG or JPEG image"),
        (
            bomb_png((6000, 6000)),
            "the image is 6000×6000 pixels; the most is 16777216 pixels and 8192 on a side",
        ),
        (bomb_png((10000, 1)), "the image is 10000×1 pixels; the most is 16777216 pixels and 8192 on a side"),
        (bomb_png((20000, 20000)), "the image has too many pixels"),
        (
            b"\0" * (MAX_IMAGE_BYTES + 1),
            f"the image is {MAX_IMAGE_BYTES + 1} bytes; the most is {MAX_IMAGE_BYTES}",
        ),
    ],
    ids=["empty", "text", "gif", "bomb", "strip", "giant bomb", "too long"],
)
def test_what_is_not_an_acceptable_image_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(BadImage) as refusal:
        check_image(data)
    assert str(refusal.value) == reason


@pytest.mark.parametrize("data", [truncated(sample_png()), truncated(jpeg((200, 200)))], ids=["png", "jpeg"])
def test_a_truncated_image_is_refused_as_damaged(data: bytes) -> None:
    with pytest.raises(BadImage, match=r"^the image is damaged \("):
        check_image(data)


def test_reading_a_file_checks_it(tmp_path: Path) -> None:
    path = write_sample_png(tmp_path / "ok.png")
    data, facts = read_image_file(path)
    assert data == path.read_bytes() and facts.format == "PNG"
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(BadImage, match="^this is not a PNG or JPEG image$"):
        read_image_file(tmp_path / "notes.png")
    with pytest.raises(BadImage, match=r"^cannot read .*missing\.png: No such file or directory$"):
        read_image_file(tmp_path / "missing.png")


def test_a_file_too_long_is_refused_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.jpg"
    with huge.open("wb") as file:
        file.truncate(MAX_IMAGE_BYTES + 1)  # sparse: nothing is really written
    with pytest.raises(
        BadImage, match=rf"^huge\.jpg is {MAX_IMAGE_BYTES + 1} bytes; the most is {MAX_IMAGE_BYTES}$"
    ):
        read_image_file(huge)


def test_monochrome_art_fits_the_width_and_has_no_escape_codes() -> None:
    art = render_ascii_art(sample_png(), 40, monochrome=True)
    lines = art.splitlines()
    assert 5 <= len(lines) <= 40
    assert all(len(line) == 40 for line in lines)
    assert "\x1b" not in art and len(set(art) - {"\n"}) > 5  # some shading, not one character


def test_colored_art_holds_only_color_codes() -> None:
    art = render_ascii_art(sample_png(), 30, monochrome=False)
    lines = art.splitlines()
    assert all(line.endswith("\x1b[0m") for line in lines)
    assert all(len(SGR.sub("", line)) == 30 for line in lines)
    assert "\x1b" not in SGR.sub("", art)
    assert len(set(SGR.findall(art))) >= 3  # a few colors


def test_a_tall_image_is_narrowed_to_fit_the_rows() -> None:
    art = render_ascii_art(jpeg((20, 400)), 100, monochrome=True, max_rows=10)
    lines = art.splitlines()
    assert len(lines) <= 10
    assert 0 < len(lines[0]) < 100
