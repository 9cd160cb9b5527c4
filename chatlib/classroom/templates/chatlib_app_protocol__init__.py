"""The protocol's frames, given: one dataclass per frame type, the type bytes, error codes and limits.

In this edition the encoder and the decoder are yours to write, in ``mycode/protocol.py``, from
docs/PROTOCOL.md.
"""

from chatlib.app.protocol.frames import *  # noqa: F401,F403  (every frame, limit and code)
from chatlib.app.protocol.frames import __all__ as _frame_names

__all__ = [*_frame_names]
