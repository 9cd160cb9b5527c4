"""The benchmark's messages on the wire, sans-IO: fixed-size SAY frames and their MESSAGE copies.

Every benchmark message has the same shape, so every MESSAGE frame the server relays has the
same size. That lets a receiver count deliveries by counting bytes, and find any frame of a read
by arithmetic, without decoding the others (see ``counting.py``). The text of a message is::

    SSSSS QQQQQQQ TTTTTTTTTTTTTTTTTTTT
    sender  seq   send time (time.perf_counter_ns, a clock all processes of a machine share)
"""

from __future__ import annotations

import secrets
import string
from time import perf_counter_ns

from chatlib.app.protocol import FrameType, Message, Say, encode

SENDER_DIGITS = 5
SEQUENCE_DIGITS = 7
TIME_DIGITS = 20
TEXT_BYTES = SENDER_DIGITS + 1 + SEQUENCE_DIGITS + 1 + TIME_DIGITS
CLIENT_DIGITS = 5
TAG_LETTERS = 3
PSEUDO_LENGTH = TAG_LETTERS + CLIENT_DIGITS
SAMPLE_COLOR = "#000000"  # every color is "#rrggbb": 7 bytes, whatever the server picks
SYNC_TEXT = "bench: everyone is in, start counting"

MAX_CLIENTS = 10**CLIENT_DIGITS - 1
MAX_MESSAGES = 10**SEQUENCE_DIGITS - 1


def now_ns() -> int:
    """The send and receive clock of every benchmark message (monotonic, machine-wide)."""
    return perf_counter_ns()


def run_tag() -> str:
    """Three random letters that make one run's pseudos unique on a shared server."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(TAG_LETTERS))


def pseudo_of(tag: str, client_index: int) -> str:
    """The pseudo of one benchmark client: always PSEUDO_LENGTH characters, e.g. ``kqz00042``."""
    return f"{tag}{client_index:0{CLIENT_DIGITS}d}"


def bench_text(sender_index: int, sequence: int, sent_ns: int) -> str:
    """The text of one benchmark message: who sent it, its number, and when."""
    return f"{sender_index:0{SENDER_DIGITS}d} {sequence:0{SEQUENCE_DIGITS}d} {sent_ns:0{TIME_DIGITS}d}"


_SAMPLE_TEXT = bench_text(0, 0, 0)
SAY_HEADER = encode(Say(_SAMPLE_TEXT))[: -len(_SAMPLE_TEXT)]
_SAMPLE_MESSAGE = encode(Message(0, "x" * PSEUDO_LENGTH, SAMPLE_COLOR, _SAMPLE_TEXT))

MESSAGE_FRAME_BYTES = len(_SAMPLE_MESSAGE)
MESSAGE_TYPE_BYTE = FrameType.MESSAGE.value
MESSAGE_LENGTH_BYTE = _SAMPLE_MESSAGE[2]  # the payload length, on one byte (width 1)
TEXT_OFFSET = MESSAGE_FRAME_BYTES - TEXT_BYTES
SENDER_OFFSET = TEXT_OFFSET
TIME_OFFSET = TEXT_OFFSET + SENDER_DIGITS + 1 + SEQUENCE_DIGITS + 1

assert _SAMPLE_MESSAGE[1] == 1, "a benchmark MESSAGE must have a one-byte length"


def say_frames(sender_index: int, first_sequence: int, count: int, sent_ns: int) -> bytes:
    """``count`` consecutive SAY frames of one sender, ready for a single write."""
    return b"".join(
        SAY_HEADER + bench_text(sender_index, sequence, sent_ns).encode("ascii")
        for sequence in range(first_sequence, first_sequence + count)
    )


def sender_key(sender_index: int) -> bytes:
    """How a sender's index appears at SENDER_OFFSET in each MESSAGE frame it caused."""
    return f"{sender_index:0{SENDER_DIGITS}d}".encode("ascii")


def parse_bench_text(text: str) -> tuple[int, int] | None:
    """The sender index and send time of a benchmark message's text, or None if it is not one."""
    parts = text.split(" ")
    if len(text) != TEXT_BYTES or len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    return int(parts[0]), int(parts[2])
