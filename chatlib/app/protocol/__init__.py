"""The protocol both sides speak: frames, their bytes on the wire, and the rules for names and text.

- ``frames``: every frame as a dataclass, the type bytes, error codes and size limits;
- ``encoding`` and ``decoding``: frames to bytes and back, sans-IO (no socket, no event loop),
  so the server, the client, the checks and the tests share them (docs/PROTOCOL.md);
- ``history``: the JSON of a HISTORY frame; ``names``: what a pseudo or room name may be;
  ``wording``: the lab sheet's French strings, byte for byte.

``from chatlib.app.protocol import encode, FrameDecoder, Say, ...`` gives the frames and codec.
"""

from chatlib.app.protocol.decoding import FrameDecoder
from chatlib.app.protocol.encoding import MessageEncoder, encode
from chatlib.app.protocol.frames import *  # noqa: F401,F403  (every frame, limit and code)
from chatlib.app.protocol.frames import __all__ as _frame_names

__all__ = ["FrameDecoder", "MessageEncoder", "encode", *_frame_names]
