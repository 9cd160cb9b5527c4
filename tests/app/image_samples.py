"""Test images made with Pillow on the spot: good ones, and every kind of bad one."""

from __future__ import annotations

import io

from PIL import Image


def encoded(picture: Image.Image, image_format: str, **options: object) -> bytes:
    """A Pillow image saved in memory in the given format."""
    buffer = io.BytesIO()
    picture.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def jpeg(size: tuple[int, int] = (40, 30)) -> bytes:
    """A small orange JPEG."""
    return encoded(Image.new("RGB", size, "#ef6c00"), "JPEG")


def gif() -> bytes:
    """A real image, but a GIF: not a format the chat takes."""
    return encoded(Image.new("P", (8, 8)), "GIF")


def bomb_png(size: tuple[int, int] = (6000, 6000)) -> bytes:
    """A one-bit PNG of a few kilobytes that would decode to ``width × height`` pixels."""
    return encoded(Image.new("1", size), "PNG", optimize=True)


def truncated(data: bytes) -> bytes:
    """An image cut off two thirds of the way through, as by an interrupted copy."""
    return data[: len(data) * 2 // 3]
