"""A disk that fills up in the middle of a write: the file never holds a line twice or two lines glued.

Each test runs ``tests.hardening.size_limited_writer`` in a process of its own under a real
file-size limit (``RLIMIT_FSIZE``): the kernel cuts the write at the limit, byte for byte, as a
full disk does, without needing a small file system to be mounted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is a POSIX limit")

WRITER_TIMEOUT = 60.0


def run_writer(path: Path, *steps: str) -> list[dict[str, int]]:
    """Run the size-limited writer on ``path``; what it reported after each flush."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.hardening.size_limited_writer", str(path), *steps],
        capture_output=True,
        text=True,
        timeout=WRITER_TIMEOUT,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def file_lines(path: Path) -> list[bytes]:
    """The file's lines, checking that it ends with a newline (no torn or glued last line)."""
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    return raw[:-1].split(b"\n")


def numbers(lines: list[bytes]) -> list[int]:
    """The record numbers of the lines, each line checked to be a whole record."""
    return [json.loads(line)["n"] for line in lines]


def test_a_write_cut_short_goes_on_where_it_stopped(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    reports = run_writer(path, "limit:1000", "append:100", "flush", "append:50", "flush", "unlimit", "flush")
    cut, still_full, saved = reports
    assert cut["size"] == 1000 and 0 < cut["queued"] < 100  # a real partial write, in mid-line
    assert still_full == {"size": 1000, "queued": cut["queued"] + 50}
    assert saved["queued"] == 0
    assert numbers(file_lines(path)) == list(range(150))


def test_space_coming_back_bit_by_bit(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    steps = ["limit:500", "append:40", "flush", "limit:1234", "flush", "append:10", "limit:2001", "flush"]
    reports = run_writer(path, *steps, "unlimit", "flush")
    assert [report["size"] for report in reports[:3]] == [500, 1234, 2001]
    assert numbers(file_lines(path)) == list(range(50))


@pytest.mark.parametrize("room_for", [0, 1, 30])
def test_a_torn_last_line_is_ended_first_even_when_that_write_is_cut(tmp_path: Path, room_for: int) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(b'{"n": -2, "text": "whole"}\n{"n": -1, "te')  # a crash tore the last line
    torn_size = path.stat().st_size
    run_writer(path, f"limit:{torn_size + room_for}", "append:5", "flush", "unlimit", "flush")
    lines = file_lines(path)
    assert lines[1] == b'{"n": -1, "te'  # the torn line alone on its line, nothing glued to it
    assert numbers([lines[0], *lines[2:]]) == [-2, 0, 1, 2, 3, 4]


def test_when_the_backlog_overflows_after_a_cut_the_rest_starts_on_a_new_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    steps = ["limit:1000", "append:100", "flush", "max_queued:300", "append:20", "flush", "unlimit", "flush"]
    run_writer(path, *steps)
    lines = file_lines(path)
    whole = [line for line in lines if line.endswith(b"}")]
    assert len(lines) - len(whole) == 1  # the line cut at 1000 bytes, left torn: its rest was dropped
    kept = numbers(whole)
    assert kept == sorted(set(kept)) and kept[-1] == 119  # no line twice, the newest kept
    assert len(kept) < 120  # the oldest unsaved ones were dropped to stay within 300 bytes
