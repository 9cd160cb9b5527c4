"""The protocol's frames, given: one dataclass per frame type, the type bytes, error codes and limits.

In this edition the encoder and the decoder are yours to write, in ``mycode/protocol.py``, from
docs/PROTOCOL.md. ``encode`` here is what the checks send you in their framing scenario: the
bytes docs/PROTOCOL.md gives for a frame, laid out by the checks (``chatlib.checks.wire``).
"""

from typing import Any

from chatlib.app.protocol.frames import *  # noqa: F401,F403  (every frame, limit and code)
from chatlib.app.protocol.frames import __all__ as _frame_names

__all__ = ["encode", *_frame_names]


def encode(frame: Any) -> bytes:
    """A frame's bytes as docs/PROTOCOL.md lays them out (the checks' own layout)."""
    from chatlib.checks.wire import frame_bytes

    return frame_bytes(frame)
