"""A small picture made by code, for the notebook and the tests to send: no file to download.

It is a speech bubble on a sky gradient, which shows well as ASCII art, colored or not.
Run ``python -m chatlib.app.shared.sample_image PATH`` to write it as a PNG file.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image, ImageDraw

SAMPLE_SIZE = (96, 64)


def sample_picture(size: tuple[int, int] = SAMPLE_SIZE) -> Image.Image:
    """The sample picture as a Pillow image."""
    width, height = size
    picture = Image.new("RGB", size)
    draw = ImageDraw.Draw(picture)
    for y in range(height):  # sky: light blue at the top, deep blue at the bottom
        shade = y / max(height - 1, 1)
        draw.line([(0, y), (width, y)], fill=(int(150 - 120 * shade), int(200 - 130 * shade), 255))
    left, top, right, bottom = width * 0.12, height * 0.12, width * 0.88, height * 0.66
    draw.rounded_rectangle(
        [left, top, right, bottom], radius=height * 0.12, fill="white", outline="black", width=2
    )
    draw.polygon(
        [(width * 0.3, bottom - 1), (width * 0.22, height * 0.88), (width * 0.45, bottom - 1)],
        fill="white",
        outline="black",
    )
    for dot in range(3):  # "..." in the bubble
        center_x, center_y, radius = width * (0.36 + 0.14 * dot), (top + bottom) / 2, height * 0.06
        draw.ellipse(
            [center_x - radius, center_y - radius, center_x + radius, center_y + radius], fill="#d62728"
        )
    return picture


def sample_png(size: tuple[int, int] = SAMPLE_SIZE) -> bytes:
    """The sample picture as the bytes of a PNG file."""
    buffer = io.BytesIO()
    sample_picture(size).save(buffer, format="PNG")
    return buffer.getvalue()


def write_sample_png(path: Path, size: tuple[int, int] = SAMPLE_SIZE) -> Path:
    """Write the sample picture as a PNG file at ``path`` and return the path."""
    path.write_bytes(sample_png(size))
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m chatlib.app.shared.sample_image PATH.png")
    print(write_sample_png(Path(sys.argv[1])))
