"""Part III, in this edition: only the frames of the protocol (``protocol.frames``).

The finished app (the server, the client, and the protocol's encoder and decoder) runs on the
course's own protocol, which is a step you write yourself, in ``mycode/protocol.py``; it comes
with an edition that shows the protocol's solution.
"""
