"""The image limits the documents state are the ones the code applies (``chatlib.app.shared.images``)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from chatlib.app.protocol import MAX_IMAGE_BYTES
from chatlib.app.shared.images import MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, check_image
from tests.app.image_samples import bomb_png

PROJECT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
# How README and notebook 03 state the limits: "at most 2 MiB, 16,777,216 pixels and 8192 pixels on a side"
PROSE = re.compile(r"at most (\d+) MiB, ([\d,]+) pixels and ([\d,]+) pixels on a side")


def number(text: str) -> int:
    """A number as written in the documents, thousands separated by commas."""
    return int(text.replace(",", ""))


def notebook_markdown(name: str) -> str:
    """The text of a notebook's markdown cells."""
    notebook = nbformat.read(PROJECT / "notebooks" / name, as_version=4)
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param((PROJECT / "README.md").read_text(encoding="utf-8"), id="README.md"),
        pytest.param(notebook_markdown("03_finished_chat.ipynb"), id="notebook 03"),
    ],
)
def test_the_prose_states_the_image_limits_of_the_code(text: str) -> None:
    stated = PROSE.findall(" ".join(text.split()))  # a sentence may be cut across lines
    assert stated, "the image limits are not stated as 'at most N MiB, N pixels and N pixels on a side'"
    for mebibytes, pixels, side in stated:
        assert (int(mebibytes) * MIB, number(pixels), number(side)) == (
            MAX_IMAGE_BYTES,
            MAX_IMAGE_PIXELS,
            MAX_IMAGE_SIDE,
        )
    assert "4096 × 4096" not in text, "a limit on the area, not on each side"


def test_the_protocol_table_states_the_image_limits_of_the_code() -> None:
    text = (PROJECT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(MAX_IMAGE_\w+)` *\| ([^|]+?) *\|", text, re.MULTILINE))
    assert rows == {
        "MAX_IMAGE_BYTES": f"{MAX_IMAGE_BYTES // MIB} MiB",
        "MAX_IMAGE_PIXELS": f"{MAX_IMAGE_PIXELS:,} pixels",
        "MAX_IMAGE_SIDE": f"{MAX_IMAGE_SIDE} pixels",
    }


def test_a_long_picture_within_the_limits_is_accepted() -> None:
    facts = check_image(bomb_png((8000, 1000)))  # more than 4096 on a side, fewer pixels than the most
    assert (facts.width, facts.height) == (8000, 1000)
