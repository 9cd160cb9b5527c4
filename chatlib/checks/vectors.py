"""The documented bytes of the frames the protocol checks use, field by field: laid out live by the
course, or read from the test vectors a student edition holds.

In the course, `frame_fields` lays a frame out as docs/PROTOCOL.md says (`chatlib.checks.layout`).
A student edition has no such code, since it would be a working encoder and the protocol is a step
the student writes: `course.py release` wrote down the fields of every frame the checks use, in
`frame_vectors.json.gz` beside this file (gzip-compressed JSON: `zcat` shows it), and
`frame_fields` reads them there. The checks see the same fields either way.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

Field = tuple[str, bytes]
"""One field of a frame on the wire: its name (`type`, `length`, `pseudo`...) and its bytes."""

VECTORS_FILE = Path(__file__).with_name("frame_vectors.json.gz")
ABOUT = (
    "The bytes of every frame the protocol checks use, field by field (hex), as docs/PROTOCOL.md "
    "lays them out, written when this edition was built: data for the checks, not an encoder."
)


class MissingVector(LookupError):
    """The checks asked for a frame whose bytes the edition's test vectors do not hold."""


def vector_key(frame: Any, width: int | None) -> str:
    """Where a frame's fields are in the vectors: its type, a digest of its value, the length's width."""
    digest = hashlib.sha256(repr(frame).encode("utf-8")).hexdigest()[:32]
    return f"{type(frame).__name__}/{digest}/{width or 'smallest'}"


@functools.cache
def live_layout() -> Callable[[Any, int | None], list[Field]] | None:
    """The course's layout of a frame's fields, or None in a student edition, which has none."""
    try:
        from chatlib.checks.layout import frame_fields as laid_out
    except ModuleNotFoundError as missing:
        if missing.name != "chatlib.checks.layout":
            raise
        return None
    return laid_out


@functools.cache
def _vectors() -> dict[str, list[Field]]:
    """The edition's test vectors, read once: each frame's fields, by `vector_key`."""
    try:
        written = json.loads(gzip.decompress(VECTORS_FILE.read_bytes()))
    except FileNotFoundError:
        raise MissingVector(
            f"neither the course's layout of the frames nor {VECTORS_FILE.name} is here: rebuild the edition"
        ) from None
    return {
        key: [(name, bytes.fromhex(data)) for name, data in vector["fields"]]
        for key, vector in written["frames"].items()
    }


def frame_fields(frame: Any, width: int | None = None) -> list[Field]:
    """Every field of the frame on the wire as documented, header first; `width` forces the length's width."""
    laid_out = live_layout()
    if laid_out is not None:
        return laid_out(frame, width)
    try:
        return _vectors()[vector_key(frame, width)]
    except KeyError:
        raise MissingVector(
            f"{VECTORS_FILE.name} holds no bytes for {type(frame).__name__} (width {width or 'smallest'}): "
            "the checks use a frame the edition was built without; rebuild it"
        ) from None


def frame_bytes(frame: Any, width: int | None = None) -> bytes:
    """The frame's bytes as docs/PROTOCOL.md lays them out."""
    return b"".join(data for _, data in frame_fields(frame, width))


def write_vectors(frames: Iterable[tuple[Any, int | None]], file: Path) -> int:
    """Write the fields of each (frame, width) into `file` as the course lays them out (at release
    time, for a student edition); returns how many frames were written."""
    laid_out = live_layout()
    if laid_out is None:
        raise MissingVector("only the course itself can write the test vectors: it has the layout")
    from chatlib.checks.wire import describe_frame

    vectors = {
        vector_key(frame, width): {
            "frame": describe_frame(frame),
            "fields": [[name, data.hex()] for name, data in laid_out(frame, width)],
        }
        for frame, width in frames
    }
    lines = [
        f"  {json.dumps(key)}: {json.dumps(entry, ensure_ascii=False)}" for key, entry in vectors.items()
    ]
    text = f'{{"about": {json.dumps(ABOUT)},\n "frames": {{\n' + ",\n".join(lines) + "\n }\n}\n"
    file.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))  # one frame a line, once unzipped
    return len(vectors)
