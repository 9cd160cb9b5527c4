"""Damaged data files: a bad line is skipped with a warning, a bad path is named for what it is."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chatlib.app.server import storage
from chatlib.app.server.persistence import HISTORY_FILE, USERS_FILE, ServerStore
from chatlib.app.server.storage import DataFileError, read_json_lines
from tests.app.conftest import FrameClient
from tests.server_process import STOP_TIMEOUT, server_process

BRACKETS = b"[" * 100_000
USER = (
    b'{"user_id":"00000000000000aa","pseudo":"alice","color":"#1f77b4","token_sha256":"%s","first_seen_ms":1}'
)
ENTRY = b'{"room":"general","kind":"message","time_ms":1,"pseudo":"alice","color":"#1f77b4","text":"%s"}'
DAMAGED_LINES = {
    "100,000 brackets": BRACKETS,
    "an object nested 1,000 deep": b'{"pseudo":' + b"[" * 1000 + b"]" * 1000 + b"}",
    "a flat array": b"[1, 2]",
    "a half line": b'{"room":"gen',
    "invalid UTF-8": b'{"text":"\xff"}',
}


@pytest.mark.parametrize("damage", DAMAGED_LINES.values(), ids=DAMAGED_LINES.keys())
def test_a_damaged_line_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: bytes
) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(b'{"n":1}\n' + damage + b'\n{"n":2}\n')
    with caplog.at_level(logging.WARNING):
        assert list(read_json_lines(path)) == [{"n": 1}, {"n": 2}]
    assert f"{path}: line 2 is not" in caplog.text


def test_a_line_too_long_is_skipped_without_being_held(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "MAX_LINE_BYTES", 100)
    path = tmp_path / "data.jsonl"
    long_record = b'{"text":"' + b"x" * 250 + b'"}'
    path.write_bytes(b'{"n":1}\n' + long_record + b'\n{"n":2}\n' + b'{"n":' + b"3" * 200)
    with caplog.at_level(logging.WARNING):
        assert list(read_json_lines(path)) == [{"n": 1}, {"n": 2}]
    assert f"{path}: line 2 is over 100 bytes; skipped" in caplog.text
    assert f"{path}: line 4 is over 100 bytes; skipped" in caplog.text


@pytest.mark.parametrize("file_name", [USERS_FILE, HISTORY_FILE])
async def test_a_folder_in_place_of_a_data_file_is_named(tmp_path: Path, file_name: str) -> None:
    (tmp_path / file_name).mkdir()
    with pytest.raises(DataFileError, match=f"^{file_name} in {tmp_path} is a folder, not a file$"):
        await ServerStore(tmp_path, 50, 0.5).load()


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads and writes any file")
async def test_a_data_file_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    (tmp_path / USERS_FILE).write_bytes(b"")
    (tmp_path / USERS_FILE).chmod(0o400)
    with pytest.raises(DataFileError, match="cannot be read and written: permission denied"):
        await ServerStore(tmp_path, 50, 0.5).load()


@pytest.mark.parametrize("file_name", [USERS_FILE, HISTORY_FILE])
async def test_the_server_starts_despite_a_line_of_brackets(tmp_path: Path, file_name: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / USERS_FILE).write_bytes(USER % (b"0" * 64) + b"\n")
    (data_dir / HISTORY_FILE).write_bytes(ENTRY % b"before" + b"\n")
    with (data_dir / file_name).open("ab") as file:
        file.write(BRACKETS + b"\n")
    async with server_process(tmp_path) as (process, port):
        client = await FrameClient.connect("127.0.0.1", port)
        assert (await client.hello("bob")).pseudo == "bob"
        history = await client.enter_quietly("general")
        assert [entry.text for entry in history.entries] == ["before"]
        await client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=STOP_TIMEOUT) == 0
    console = "".join(path.read_text() for path in tmp_path.glob("console-*.txt"))
    assert f"{data_dir / file_name}: line 2 is not valid JSON (torn write?); skipped" in console
    assert "Traceback" not in console


def run_server_command(tmp_path: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """``chat-server`` with this data folder, expected to stop at once."""
    command = [sys.executable, "-m", "chatlib.app.server", "--port", "0", "--data-dir", str(data_dir)]
    env = os.environ | {"XDG_CONFIG_HOME": str(tmp_path / "no-config")}
    command += ["--log-dir", str(tmp_path / "logs")]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=tmp_path, env=env)


def test_the_server_names_a_users_file_that_is_a_folder(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / USERS_FILE).mkdir(parents=True)
    done = run_server_command(tmp_path, data_dir)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == f"chat-server: {USERS_FILE} in {data_dir} is a folder, not a file"
    assert "Traceback" not in done.stderr


def test_the_server_names_a_data_folder_that_is_a_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.write_text("not a folder")
    done = run_server_command(tmp_path, data_dir)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"chat-server: cannot use the data folder {data_dir}: it is a file, not a folder"
    )
