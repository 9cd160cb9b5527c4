"""Images in the chat: what counts as an acceptable one, and how a terminal shows it.

The server checks every IMAGE before relaying it, and the client checks a file before sending
it, with the same ``check_image``: a real PNG or JPEG, at most ``MAX_IMAGE_BYTES`` long,
``MAX_IMAGE_PIXELS`` pixels and ``MAX_IMAGE_SIDE`` pixels on a side (the documents quote these
constants; a test checks that they agree). The pixel count is read from the header before anything
is decoded, so a small file that would expand into gigabytes (a "decompression bomb") is refused
cheaply. Checking decodes the whole image, so call it from a worker thread on an event loop.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from chatlib.app.protocol import MAX_IMAGE_BYTES
from chatlib.app.protocol.history import ImageFacts

MAX_IMAGE_PIXELS = 16 * 1024 * 1024  # width × height, whatever the shape: 8000 × 1000 is fine
MAX_IMAGE_SIDE = 8192  # pixels: a 1×16M-pixel strip is no picture either
ACCEPTED_FORMATS = ("PNG", "JPEG")
ART_WIDTH_RATIO = 2.2  # a terminal cell is about twice as high as it is wide
ANSI_RESET = "\x1b[0m"


class BadImage(ValueError):
    """Data that is not an acceptable image; the message says why, for the sender."""


def check_image(data: bytes) -> ImageFacts:
    """Check that ``data`` is a PNG or JPEG within the limits, and decode it fully to be sure.

    Returns its format, size in pixels and length in bytes; raises BadImage otherwise.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise BadImage(f"the image is {len(data)} bytes; the most is {MAX_IMAGE_BYTES}")
    if not data:
        raise BadImage("the image is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                image_format, (width, height) = image.format, image.size
                _check_dimensions(width, height)
                image.verify()  # the file's structure (PNG checksums...)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                image.load()  # every pixel really decodes (verify does not decode JPEG data)
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise BadImage("this is not a PNG or JPEG image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage("the image has too many pixels") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise BadImage(f"the image is damaged ({error})") from None
    return ImageFacts(str(image_format), width, height, len(data))


def _check_dimensions(width: int, height: int) -> None:
    """Refuse pictures too big to be worth decoding, before decoding them."""
    if width < 1 or height < 1:
        raise BadImage("the image has no pixels")
    if width * height > MAX_IMAGE_PIXELS or max(width, height) > MAX_IMAGE_SIDE:
        raise BadImage(
            f"the image is {width}×{height} pixels; the most is {MAX_IMAGE_PIXELS} pixels "
            f"and {MAX_IMAGE_SIDE} on a side"
        )


def read_image_file(path: Path) -> tuple[bytes, ImageFacts]:
    """Read and check an image file before sending it; BadImage (never OSError) if it will not do."""
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise BadImage(f"{path.name} is {size} bytes; the most is {MAX_IMAGE_BYTES}")
        data = path.read_bytes()
    except OSError as error:
        raise BadImage(f"cannot read {path}: {error.strerror or error}") from None
    return data, check_image(data)


def render_ascii_art(data: bytes, columns: int, *, monochrome: bool, max_rows: int = 40) -> str:
    """The image as lines of text ``columns`` wide (narrower if it would exceed ``max_rows`` lines).

    With ``monochrome=False`` each character carries an ANSI color code (the 16 standard
    colors, as ``ascii-magic`` picks them from the pixels alone), so the text is safe for a
    terminal; print it with prompt_toolkit's ``ANSI``. The image must have passed ``check_image``.
    """
    with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
        picture = image.convert("RGB")
    width, height = picture.size
    rows_at_full_width = columns * height / (width * ART_WIDTH_RATIO)
    if rows_at_full_width > max_rows:
        columns = max(1, int(columns * max_rows / rows_at_full_width))
    import ascii_magic  # here, not at the top: only clients draw pictures, so the server never loads it

    art = ascii_magic.AsciiArt.from_pillow_image(picture)
    if monochrome:
        text: str = art.to_ascii(columns=columns, width_ratio=ART_WIDTH_RATIO, monochrome=True)
        return text
    rows: list[str] = []
    for line in art.to_character_list(columns=columns, width_ratio=ART_WIDTH_RATIO):
        row, color_in_use = "", ""
        for cell in line:
            if cell["terminal-color"] != color_in_use:
                color_in_use = cell["terminal-color"]
                row += color_in_use
            row += cell["character"]
        rows.append(row + ANSI_RESET + "\n")
    return "".join(rows)


def check_and_render(data: bytes, columns: int, *, monochrome: bool) -> tuple[ImageFacts, str]:
    """What a client does with a received image: check it as the server did (a client trusts no
    peer), then render it ``columns`` wide. BadImage if it will not do; call from a worker thread."""
    facts = check_image(data)
    return facts, render_ascii_art(data, columns, monochrome=monochrome)
