"""The bulk delivery counter, fed plain bytes: exact counts however the stream is cut."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from chatlib.app.protocol import Announcement, Message, Ping, encode
from chatlib.bench.counting import DeliveryCounter
from chatlib.bench.wire import (
    MESSAGE_FRAME_BYTES,
    SAY_HEADER,
    TEXT_BYTES,
    bench_text,
    pseudo_of,
    say_frames,
    sender_key,
)

SENT_NS = 1_000_000
RECEIVED_NS = 3_500_000


def message(sender: int, sequence: int, sent_ns: int = SENT_NS) -> bytes:
    """The MESSAGE frame the server relays for one benchmark SAY."""
    text = bench_text(sender, sequence, sent_ns)
    return encode(Message(1_700_000_000_000, pseudo_of("abc", sender), "#1f77b4", text))


def fixed_clock() -> int:
    """The receive time of every read in these tests."""
    return RECEIVED_NS


def feed_in_chunks(counter: DeliveryCounter, stream: bytes, chunk: int) -> list[object]:
    """Feed ``stream`` as reads of ``chunk`` bytes; return the non-benchmark frames seen."""
    others: list[object] = []
    for start in range(0, len(stream), chunk):
        others += counter.feed(stream[start : start + chunk])
    return others


def test_every_benchmark_message_has_the_same_frame_size() -> None:
    sizes = {len(message(sender, sequence)) for sender in (0, 7, 99_999) for sequence in (0, 1234, 9_999_999)}
    assert sizes == {MESSAGE_FRAME_BYTES}


def test_say_frames_are_the_senders_texts_back_to_back() -> None:
    frames = say_frames(12, 5, 3, SENT_NS)
    assert frames.count(bench_text(12, 6, SENT_NS).encode()) == 1
    assert len(frames) == 3 * (len(SAY_HEADER) + TEXT_BYTES) and frames[0] == 0x03


def test_counts_exactly_whatever_the_read_sizes() -> None:
    stream = b"".join(message(sender, sequence) for sender in range(3) for sequence in range(40))
    frame = MESSAGE_FRAME_BYTES
    for chunk in (1, 2, 3, 7, frame - 1, frame, frame + 1, 1000, len(stream)):
        counter = DeliveryCounter(clock=fixed_clock)
        assert feed_in_chunks(counter, stream, chunk) == []
        assert counter.delivered == 120, chunk
        assert counter.latencies_ns and set(counter.latencies_ns) == {RECEIVED_NS - SENT_NS}


def test_samples_the_first_and_last_whole_frame_of_a_read() -> None:
    counter = DeliveryCounter(clock=fixed_clock)
    counter.feed(message(0, 0, sent_ns=100) + message(0, 1, sent_ns=200) + message(0, 2, sent_ns=300))
    assert counter.latencies_ns == [RECEIVED_NS - 100, RECEIVED_NS - 300]


def test_other_frames_are_decoded_returned_and_counting_resumes() -> None:
    ping, announce = encode(Ping()), encode(Announcement(5, "Annonce : x a quitté la chatroom"))
    stream = message(0, 0) + message(0, 1) + ping + message(1, 0) + announce + message(1, 1) + message(1, 2)
    for chunk in (1, 5, MESSAGE_FRAME_BYTES, len(stream)):
        counter = DeliveryCounter(clock=fixed_clock)
        others = feed_in_chunks(counter, stream, chunk)
        assert [type(frame) for frame in others] == [Ping, Announcement], chunk
        assert counter.delivered == 5 and counter.other_frames == 2
        counter.feed(message(2, 0) * 3)  # back on the fast path afterwards
        assert counter.delivered == 8


def test_watched_senders_are_released_once_per_message_seen() -> None:
    released: Counter[int] = Counter()

    def releaser(sender: int) -> Callable[[int], None]:
        return lambda arrived: released.update({sender: arrived})

    watched = {sender_key(sender): releaser(sender) for sender in (1, 2)}
    stream = b"".join(message(sender, sequence) for sequence in range(10) for sender in (0, 1, 2))
    counter = DeliveryCounter(watched, clock=fixed_clock)
    feed_in_chunks(counter, stream, 100)
    assert released == {1: 10, 2: 10}
    assert counter.delivered == 30


def test_profile_summary_counts_self_and_inclusive_time_and_drops_idle_threads_and_start_up() -> None:
    from chatlib.bench.profile_summary import summarise

    raw = (
        "main (server.py:1);relay (server.py:5);log (logging.py:9) 6\n"
        "main (server.py:1);relay (server.py:7) 3\n"
        "Thread.run (threading.py:982);_worker (concurrent/futures/thread.py:81) 50\n"
        "<module> (server.py:28);_find_and_load (<frozen importlib._bootstrap>:1176);x (y.py:1) 7\n"
    )
    summary = summarise(raw)
    assert (summary.samples, summary.idle_samples, summary.start_up_samples) == (9, 50, 7)
    assert summary.top("self", 2) == [(100 * 6 / 9, "log (logging.py)"), (100 * 3 / 9, "relay (server.py)")]
    assert summary.inclusive_samples["relay (server.py)"] == 9
