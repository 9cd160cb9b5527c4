"""Counting a receiver's deliveries in bulk, sans-IO: bytes in, counts and latency samples out.

A load process must not be slower than the server it measures, so it cannot decode millions of
frames one by one in Python. Every benchmark MESSAGE frame has the same size F, so a read of B
bytes holds B // F whole frames. The counter checks that the stream is really made of them (the
type and length bytes of every frame, in two C-speed strided slices), decodes only the first and
the last frame of each read for their send time, and carries the unfinished frame to the next
read. Anything else in the stream (a PING, an announcement) puts the stream off that grid: the
counter then hands the bytes to the real FrameDecoder until a frame ends exactly at a read's end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping

from chatlib.app.protocol import Frame, FrameDecoder, Message
from chatlib.bench.wire import (
    MESSAGE_FRAME_BYTES,
    MESSAGE_LENGTH_BYTE,
    MESSAGE_TYPE_BYTE,
    SENDER_DIGITS,
    SENDER_OFFSET,
    TIME_OFFSET,
    now_ns,
    parse_bench_text,
    sender_key,
)

FRAME = MESSAGE_FRAME_BYTES

Release = Callable[[int], None]


class DeliveryCounter:
    """Counts the benchmark MESSAGE frames of one receiver's stream and samples their latency.

    ``watched`` maps the sender keys (``wire.sender_key``) this receiver releases in window mode
    to a callback told how many of that sender's messages just arrived.
    """

    def __init__(
        self, watched: Mapping[bytes, Release] | None = None, clock: Callable[[], int] = now_ns
    ) -> None:
        self.delivered = 0
        self.other_frames = 0
        self.latencies_ns: list[int] = []
        self._watched = dict(watched or {})
        self._clock = clock
        self._partial = b""  # the beginning of a frame that the next read completes
        self._decoder: FrameDecoder | None = None  # only while the stream is off the fixed grid

    def feed(self, data: bytes) -> list[Frame]:
        """Count what ``data`` brings; return the frames that are not benchmark messages (e.g. PING)."""
        received_ns = self._clock()
        if self._decoder is not None:
            return self._decode(data, received_ns)
        start = 0
        if self._partial:
            missing = FRAME - len(self._partial)
            if len(data) < missing:
                self._partial += data
                return []
            joined = self._partial + data[:missing]
            self._partial = b""
            if not self._count_whole_frames(joined, 0, 1, received_ns):
                return self._decode(joined + data[missing:], received_ns)
            start = missing
        whole = (len(data) - start) // FRAME
        tail = start + whole * FRAME
        if not self._count_whole_frames(data, start, whole, received_ns):
            return self._decode(data[start:], received_ns)
        if not _starts_a_message(data[tail:]):
            return self._decode(data[tail:], received_ns)
        self._partial = data[tail:]
        return []

    def _grid_holds(self, data: bytes, start: int, count: int) -> bool:
        """Whether ``count`` benchmark MESSAGE frames sit back to back in ``data`` from ``start``."""
        end = start + count * FRAME
        return (
            data[start:end:FRAME].count(MESSAGE_TYPE_BYTE) == count
            and data[start + 2 : end : FRAME].count(MESSAGE_LENGTH_BYTE) == count
        )

    def _count_whole_frames(self, data: bytes, start: int, count: int, received_ns: int) -> bool:
        """Count ``count`` frames from ``start`` if they are all benchmark messages; else count none."""
        if count == 0:
            return True
        if not self._grid_holds(data, start, count):
            return False
        end = start + count * FRAME
        self.delivered += count
        self._sample(data, start, received_ns)
        if count > 1:
            self._sample(data, end - FRAME, received_ns)
        if self._watched:
            senders_at = range(start + SENDER_OFFSET, end, FRAME)
            arrivals = Counter(data[at : at + SENDER_DIGITS] for at in senders_at)
            for key, arrived in arrivals.items():
                release = self._watched.get(key)
                if release is not None:
                    release(arrived)
        return True

    def _sample(self, data: bytes, frame_start: int, received_ns: int) -> None:
        """Record the latency of the frame at ``frame_start`` from the send time in its text."""
        sent_ns = int(data[frame_start + TIME_OFFSET : frame_start + FRAME])
        self.latencies_ns.append(received_ns - sent_ns)

    def _decode(self, data: bytes, received_ns: int) -> list[Frame]:
        """The slow, exact path: decode every frame, until one ends exactly where a read ends."""
        if self._decoder is None:
            self._decoder = FrameDecoder("server")
        others: list[Frame] = []
        for frame in self._decoder.feed(data):
            bench = parse_bench_text(frame.text) if isinstance(frame, Message) else None
            if bench is None:
                others.append(frame)
                continue
            sender_index, sent_ns = bench
            self.delivered += 1
            self.latencies_ns.append(received_ns - sent_ns)
            release = self._watched.get(sender_key(sender_index))
            if release is not None:
                release(1)
        self.other_frames += len(others)
        if self._decoder.pending_bytes == 0:
            self._decoder = None
        return others


def _starts_a_message(tail: bytes) -> bool:
    """Whether the unfinished bytes at the end of a read can be the start of a benchmark MESSAGE."""
    if tail and tail[0] != MESSAGE_TYPE_BYTE:
        return False
    if len(tail) > 1 and tail[1] != 1:
        return False
    return len(tail) <= 2 or tail[2] == MESSAGE_LENGTH_BYTE
