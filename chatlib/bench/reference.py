"""The reference relay: the least a Python server must do to carry the benchmark's loads.

``python -m chatlib.bench --reference`` runs every load against the chat server and against
this relay, side by side, and reports the ratio: how far the chat server is from what asyncio
itself allows on this machine. The relay speaks just enough of the protocol for the benchmark's
clients (HELLO, ENTER_ROOM and SAY in; WELCOME, ROOMS, ENTERED, ANNOUNCE and MESSAGE out) and
has no chat feature: no names checked, no limits, no history, no log, one room per name. It
batches the way the chat server does: a room joins a loop turn's MESSAGE frames once and writes
each member its share in one write, at the end of the turn.

Run it by hand with ``python -m chatlib.bench.reference -p PORT [--loop uvloop]``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import time
from collections.abc import Callable

from chatlib.app.protocol import Announcement, FrameType, RoomEntered, RoomList, Welcome, encode

COLOR = "#000000"
_MESSAGE = bytes((FrameType.MESSAGE,))


def _frames(buffer: bytearray) -> list[tuple[int, bytes]]:
    """Take the whole frames at the start of ``buffer`` out of it: (type byte, payload) each."""
    frames, offset, size = [], 0, len(buffer)
    while size - offset >= 3:
        width = buffer[offset + 1]
        start = offset + 2 + width
        if start > size:
            break
        end = start + int.from_bytes(buffer[offset + 2 : start], "big")
        if end > size:
            break
        frames.append((buffer[offset], bytes(buffer[start:end])))
        offset = end
    del buffer[:offset]
    return frames


def _str8(raw: bytes) -> bytes:
    """A length byte, then the bytes."""
    return bytes((len(raw),)) + raw


def _message(time_ms: bytes, sender: bytes, text: bytes) -> bytes:
    """A MESSAGE frame: header, time, the sender's pseudo and color (encoded once), the text."""
    length = len(time_ms) + len(sender) + len(text)
    width = 1 if length < 0x100 else 2 if length < 0x10000 else 4
    return _MESSAGE + bytes((width,)) + length.to_bytes(width, "big") + time_ms + sender + text


class RelayRoom:
    """The members of one room, and this loop turn's frames in runs by sender (as broadcast.py keeps them)."""

    def __init__(self) -> None:
        self.members: list[RelayClient] = []
        self._runs: list[tuple[RelayClient | None, list[bytes]]] = []

    def send(self, frames: list[bytes], sender: RelayClient | None) -> None:
        """Queue frames for every member but ``sender``, written at the end of the loop turn."""
        if not self._runs:
            asyncio.get_running_loop().call_soon(self.deliver)
        self._runs.append((sender, frames))

    def deliver(self) -> None:
        """Write each member this turn's frames (its own left out) in one write."""
        runs, self._runs = self._runs, []
        pieces = [(sender, b"".join(frames)) for sender, frames in runs]
        everything = b"".join(piece for _, piece in pieces)
        senders = {sender for sender, _ in pieces}
        for member in self.members:
            if member in senders:
                member.write(b"".join(piece for sender, piece in pieces if sender is not member))
            else:
                member.write(everything)


class RelayClient(asyncio.Protocol):
    """One connection: its unfinished frame, its pseudo (encoded once) and its room."""

    def __init__(self, rooms: dict[str, RelayRoom]) -> None:
        self._rooms = rooms
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._sender = b""
        self._room: RelayRoom | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport; small writes leave at once, as the chat server's do (TCP_NODELAY)."""
        self._transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write(self, data: bytes) -> None:
        """Send bytes to the client (nothing once it is gone)."""
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def data_received(self, data: bytes) -> None:
        """Act on every whole frame received; MESSAGE frames of one read share their time field."""
        self._buffer += data
        time_ms = (time.time_ns() // 1_000_000).to_bytes(8, "big")
        said: list[bytes] = []
        for frame_type, payload in _frames(self._buffer):
            if frame_type == FrameType.SAY and self._room is not None:
                said.append(_message(time_ms, self._sender, payload))
            elif frame_type == FrameType.HELLO:
                pseudo = payload[1 : 1 + payload[0]]
                self._sender = _str8(pseudo) + _str8(COLOR.encode())
                self.write(encode(Welcome("0", pseudo.decode(), COLOR, "t")) + encode(RoomList(())))
            elif frame_type == FrameType.ENTER_ROOM:
                self._enter(payload[1:].decode())
        if said and self._room is not None:
            self._room.send(said, self)

    def _enter(self, name: str) -> None:
        """Join a room: ENTERED to the newcomer, then its arrival announced to everyone there."""
        self._room = self._rooms.setdefault(name, RelayRoom())
        self._room.deliver()
        self._room.members.append(self)
        self.write(encode(RoomEntered(name)))
        pseudo = self._sender[1 : 1 + self._sender[0]].decode()
        self._room.send([encode(Announcement(time.time_ns() // 1_000_000, f"{pseudo} joined"))], None)

    def connection_lost(self, exc: Exception | None) -> None:
        """Leave the room."""
        if self._room is not None:
            self._room.members.remove(self)


async def serve(host: str, port: int) -> None:
    """Relay on ``host``:``port`` until cancelled."""
    rooms: dict[str, RelayRoom] = {}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: RelayClient(rooms), host, port)
    async with server:
        await server.serve_forever()


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """asyncio's own loop (None) or uvloop's."""
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


def main(argv: list[str] | None = None) -> None:
    """``python -m chatlib.bench.reference -p PORT``: relay until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m chatlib.bench.reference", description=__doc__)
    parser.add_argument("-a", "--address", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    options = parser.parse_args(argv)
    with asyncio.Runner(loop_factory=loop_factory(options.loop)) as runner:
        try:
            runner.run(serve(options.address, options.port))
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
