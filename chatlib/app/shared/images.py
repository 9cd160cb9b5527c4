"""Images in the chat: what counts as an acceptable one, and how a terminal shows it.

The server checks every IMAGE before relaying it, and the client checks a file before sending
it and every image it receives, with the same rules: a real PNG or JPEG, at most
``MAX_IMAGE_BYTES`` long and ``MAX_IMAGE_PIXELS`` pixels. Whatever a file says, what decoding it
costs is bounded before anything is decoded:

- the pixel count is read from the header, so a small file that would expand into gigabytes (a
  "decompression bomb") is refused at once;
- a JPEG's markers are counted first (``check_jpeg_structure``): a progressive JPEG refines its
  picture scan after scan, the decoder goes over every block of the picture for each scan, and a
  file of a few hundred kilobytes can hold tens of thousands of scans of a 4096×4096 picture (a
  minute of CPU to decode); the usual encoders write 1 to about 12;
- a JPEG is decoded at the smallest scale that will do (Pillow's ``draft``: 1/8 for a check), so
  it costs a fraction of its full size in memory and time.

Each image is decoded once. Decoding takes up to a second for the largest pictures, so programs
with an event loop run it in the helper process of ``image_worker.py``, which also enforces a
deadline.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from chatlib.app.protocol import MAX_IMAGE_BYTES
from chatlib.app.protocol.history import ImageFacts

MAX_IMAGE_PIXELS = 4096 * 4096
MAX_IMAGE_SIDE = 8192  # pixels: a 1×16M-pixel strip is no picture either
MAX_JPEG_SCANS = 64  # baseline JPEGs have 1 (or one per color), progressive ones about 10
MAX_JPEG_SEGMENTS = 1000  # markers with a length (tables, metadata, scans): real files have a few dozen
ACCEPTED_FORMATS = ("PNG", "JPEG")
ART_WIDTH_RATIO = 2.2  # a terminal cell is about twice as high as it is wide
ANSI_RESET = "\x1b[0m"

_JPEG_START = b"\xff\xd8"
_JPEG_MARKER = re.compile(rb"\xff+([^\xff])")  # a marker, after any number of fill bytes
_JPEG_SCAN_END = re.compile(rb"\xff+[^\x00\xd0-\xd7\xff]")  # the first marker after a scan's coded data
_START_OF_SCAN, _END_OF_IMAGE = 0xDA, 0xD9
_STANDALONE_MARKERS = frozenset((0x01, *range(0xD0, 0xD8)))  # TEM and RST0-7: no length follows


class BadImage(ValueError):
    """Data that is not an acceptable image; the message says why, for the sender."""


def check_image(data: bytes) -> ImageFacts:
    """Check that ``data`` is a PNG or JPEG within the limits, and decode it to be sure.

    Returns its format, size in pixels and length in bytes; raises BadImage otherwise.
    """
    facts, _ = decode_image(data, (1, 1))
    return facts


def decode_image(data: bytes, at_least: tuple[int, int]) -> tuple[ImageFacts, Image.Image]:
    """Check ``data`` as ``check_image`` does and return its picture, decoded once.

    A JPEG is decoded at 1/2, 1/4 or 1/8 of its size when that still gives ``at_least`` pixels
    (width, height); a PNG always at full size. BadImage if it will not do.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise BadImage(f"the image is {len(data)} bytes; the most is {MAX_IMAGE_BYTES}")
    if not data:
        raise BadImage("the image is empty")
    if data.startswith(_JPEG_START):
        check_jpeg_structure(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                image_format, (width, height) = image.format, image.size
                _check_dimensions(width, height)
                if image_format == "PNG":
                    image.verify()  # the file's structure: every chunk's checksum
            picture = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            picture.draft(picture.mode, at_least)  # JPEG only: decode at a smaller scale
            picture.load()  # every pixel really decodes
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise BadImage("this is not a PNG or JPEG image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage("the image has too many pixels") from None
    except MemoryError:
        raise BadImage("the image needs too much memory to decode") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise BadImage(f"the image is damaged ({error})") from None
    return ImageFacts(str(image_format), width, height, len(data)), picture


def check_jpeg_structure(data: bytes) -> None:
    """Refuse a JPEG whose decoding would cost far more than its pixels: too many scans or segments.

    Only the markers are read (the coded data between them is skipped by a regular expression),
    so this costs microseconds. Damage is left for the decoder to report.
    """
    position, scans, segments = len(_JPEG_START), 0, 0
    while (marker := _JPEG_MARKER.match(data, position)) is not None:
        code, position = marker.group(1)[0], marker.end()
        if code == _END_OF_IMAGE:
            return
        if code in _STANDALONE_MARKERS:
            continue
        segments += 1
        if segments > MAX_JPEG_SEGMENTS:
            raise BadImage(f"the JPEG image has more than {MAX_JPEG_SEGMENTS} segments")
        position += int.from_bytes(data[position : position + 2], "big")  # the length counts itself
        if code == _START_OF_SCAN:
            scans += 1
            if scans > MAX_JPEG_SCANS:
                raise BadImage(
                    f"the JPEG image has more than {MAX_JPEG_SCANS} scans (progressive passes), "
                    "too costly to decode"
                )
            scan_end = _JPEG_SCAN_END.search(data, position)
            if scan_end is None:
                return
            position = scan_end.start()


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
    terminal; print it with prompt_toolkit's ``ANSI``. BadImage if the image will not do.
    """
    return check_and_render(data, columns, monochrome=monochrome, max_rows=max_rows)[1]


def check_and_render(
    data: bytes, columns: int, *, monochrome: bool, max_rows: int = 40
) -> tuple[ImageFacts, str]:
    """What a client does with a received image: check it as the server did (a client trusts no
    peer) and draw it ``columns`` wide, decoding it once. BadImage if it will not do."""
    facts, picture = decode_image(data, (columns, max_rows))
    with picture:
        return facts, _draw(picture, columns, monochrome, max_rows)


def _draw(picture: Image.Image, columns: int, monochrome: bool, max_rows: int) -> str:
    """A decoded picture as text: shrunk first, so that drawing costs the same for any size."""
    width, height = picture.size
    rows_at_full_width = columns * height / (width * ART_WIDTH_RATIO)
    if rows_at_full_width > max_rows:
        columns = max(1, int(columns * max_rows / rows_at_full_width))
    picture.thumbnail((4 * columns, 4 * max_rows))  # a few pixels per character are plenty
    import ascii_magic  # here, not at the top: only clients draw pictures, so the server never loads it

    art = ascii_magic.AsciiArt.from_pillow_image(picture.convert("RGB"))
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
