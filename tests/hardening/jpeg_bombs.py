"""Progressive JPEGs with as many scans as wanted: legal files that cost their decoder far more than
their pixels, made in memory with Pillow for the tests and the attack commands.

A progressive JPEG draws its picture in scans, each refining the last, and the decoder goes over
every block of the picture for each one. Pillow writes the usual 10 (6 in grey); repeating the
last one N times keeps the file valid for libjpeg (a refinement that refines nothing) and makes
it N scans longer: about 35 bytes and, at 4096×4096, 9 ms of decoding each.
"""

from __future__ import annotations

import io
import re

from PIL import Image

_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")
START_OF_SCAN = b"\xff\xda"


def progressive_jpeg(side: int = 4096, extra_scans: int = 0, mode: str = "RGB") -> bytes:
    """A ``side``×``side`` progressive JPEG of one flat color, with ``extra_scans`` more scans."""
    buffer = io.BytesIO()
    Image.new(mode, (side, side), "#ef6c00" if mode == "RGB" else 128).save(
        buffer, "JPEG", progressive=True, quality=75
    )
    data = buffer.getvalue()
    last_scan = data.rindex(START_OF_SCAN)
    length = int.from_bytes(data[last_scan + 2 : last_scan + 4], "big")
    scan_end = _SCAN_END.search(data, last_scan + 2 + length)
    assert scan_end is not None and data[scan_end.start() :] == b"\xff\xd9"
    scan = data[last_scan : scan_end.start()]
    return data[: scan_end.start()] + scan * extra_scans + b"\xff\xd9"


def scan_count(data: bytes) -> int:
    """How many scans a JPEG made by ``progressive_jpeg`` holds."""
    return data.count(START_OF_SCAN)
