"""JSON Lines files: appended in the background, read back tolerantly, kept in a private folder."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from chatlib.app.server import storage
from chatlib.app.server.storage import JsonLinesFile, default_data_dir, prepare_data_dir, read_json_lines


def test_the_data_dir_follows_xdg_data_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "chat_room"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".local" / "share" / "chat_room"


def test_the_data_dir_is_created_private(tmp_path: Path) -> None:
    folder = prepare_data_dir(tmp_path / "a" / "chat_room")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


async def test_records_are_queued_then_appended_in_one_write(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    file = JsonLinesFile(path)
    file.append({"n": 1, "text": "é"})
    file.append({"n": 2})
    assert file.queued == 2 and not path.exists()  # nothing touches the disk before a flush
    await file.flush()
    assert path.read_text(encoding="utf-8") == '{"n":1,"text":"é"}\n{"n":2}\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    inode = path.stat().st_ino
    file.append({"n": 3})
    await file.flush()
    await file.flush()  # nothing queued: nothing written
    assert path.stat().st_ino == inode
    assert list(read_json_lines(path)) == [{"n": 1, "text": "é"}, {"n": 2}, {"n": 3}]


async def test_a_torn_last_line_is_skipped_and_not_glued_to(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"n":1}\n\n[1, 2]\n{"n":2, "te')  # a crash in the middle of a write
    assert list(read_json_lines(path)) == [{"n": 1}]
    file = JsonLinesFile(path)
    file.append({"n": 3})
    await file.flush()
    assert list(read_json_lines(path)) == [{"n": 1}, {"n": 3}]
    assert path.read_bytes().endswith(b'{"n":2, "te\n{"n":3}\n')


def test_a_missing_file_has_no_records(tmp_path: Path) -> None:
    assert list(read_json_lines(tmp_path / "none.jsonl")) == []


async def test_a_failed_write_keeps_the_records_for_the_next_try(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    file = JsonLinesFile(folder / "log.jsonl")
    file.append({"n": 1})
    await file.flush()  # the folder does not exist: the write fails, and is logged
    assert file.queued == 1
    folder.mkdir()
    await file.flush()
    assert list(read_json_lines(folder / "log.jsonl")) == [{"n": 1}]


async def test_when_the_disk_keeps_failing_only_the_newest_lines_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "MAX_QUEUED_BYTES", 100)
    folder = tmp_path / "gone"
    file = JsonLinesFile(folder / "log.jsonl")
    for number in range(20):
        file.append({"n": number})  # 9 or 10 bytes a line
    await file.flush()
    assert 0 < file.queued < 20
    folder.mkdir()
    await file.flush()
    kept = list(read_json_lines(folder / "log.jsonl"))
    assert kept == [{"n": number} for number in range(20 - len(kept), 20)]
    assert sum(len(str(record).replace(" ", "").replace("'", '"')) + 1 for record in kept) <= 100


async def test_a_large_backlog_is_written_without_waiting_for_the_next_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "EARLY_FLUSH_BYTES", 1000)
    path = tmp_path / "log.jsonl"
    file = JsonLinesFile(path)
    for number in range(200):  # about 2,400 bytes: two early flushes at most, never a call to flush()
        file.append({"n": number})
    async with asyncio.timeout(5):
        while len(list(read_json_lines(path))) < 100:
            await asyncio.sleep(0.01)  # polling the file: the early flush runs in a worker thread
    await file.flush()
    assert list(read_json_lines(path)) == [{"n": number} for number in range(200)]
