"""Log files go to the preferred folder, else /var/log/chat_room, else a per-user folder."""

from __future__ import annotations

import asyncio
import re
import stat
import sys
from pathlib import Path

import pytest

from chatlib.app.shared import logfiles
from chatlib.app.shared.logfiles import (
    DEFAULT_LOG_DIR,
    ConversationLog,
    choose_log_dir,
    close_conversation_log,
    conversation_log,
)

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (?P<message>.*)$")


@pytest.fixture
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A per-user state folder inside the test's own tmp_path."""
    home = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home


@pytest.fixture
def regular_file(tmp_path: Path) -> Path:
    """A regular file: no folder can ever be created under it, even by root."""
    path = tmp_path / "a_file"
    path.write_text("not a folder\n")
    return path


def test_default_is_the_spec_folder() -> None:
    assert DEFAULT_LOG_DIR == Path("/var/log/chat_room")


def test_preferred_folder_is_created_and_used(tmp_path: Path, state_home: Path, regular_file: Path) -> None:
    preferred = tmp_path / "my" / "logs"
    assert choose_log_dir(preferred, system_dir=regular_file / "system") == preferred
    assert preferred.is_dir()


def test_system_folder_when_no_preference(tmp_path: Path, state_home: Path) -> None:
    system = tmp_path / "var_log_chat_room"
    assert choose_log_dir(None, system_dir=system) == system


def test_unusable_system_folder_falls_back_to_the_user_folder(state_home: Path, regular_file: Path) -> None:
    chosen = choose_log_dir(None, system_dir=regular_file / "chat_room")
    assert chosen == state_home / "chat_room" / "log"
    assert chosen.is_dir()


def test_unusable_preferred_folder_falls_back_too(
    tmp_path: Path, state_home: Path, regular_file: Path
) -> None:
    system = tmp_path / "system"
    assert choose_log_dir(regular_file / "logs", system_dir=system) == system
    assert choose_log_dir(regular_file, system_dir=regular_file / "x") == state_home / "chat_room" / "log"


def test_conversation_log_appends_dated_single_lines(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    log = conversation_log("client", log_dir)
    log.write("Vous avez dit : bonjour")
    log.write("bob a dit : \x1b[2Jsalut\nalice a dit : forged")
    assert conversation_log("client", log_dir) is log, "one writer per file keeps the lines in order"
    close_conversation_log(log)

    again = conversation_log("client", log_dir)
    assert again is not log
    again.write("Annonce : bob a quitté la chatroom")
    close_conversation_log(again)

    lines = (log_dir / "client.log").read_text(encoding="utf-8").splitlines()
    matches = [LOG_LINE.fullmatch(line) for line in lines]
    assert all(matches), lines
    messages = [match.group("message") for match in matches if match]
    assert messages == [
        "Vous avez dit : bonjour",
        "bob a dit : ␛[2Jsalut␊alice a dit : forged",
        "Annonce : bob a quitté la chatroom",
    ]


def test_conversation_log_stays_off_the_console(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = conversation_log("server", tmp_path)
    log.write("only in the file")
    close_conversation_log(log)
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
    assert (tmp_path / "server.log").read_text(encoding="utf-8").endswith(" only in the file\n")


def test_without_an_event_loop_each_line_is_written_at_once(tmp_path: Path) -> None:
    log = ConversationLog(tmp_path / "client.log")
    log.write("first")
    assert (tmp_path / "client.log").read_text(encoding="utf-8").endswith(" first\n")
    log.close()


async def test_under_an_event_loop_lines_are_written_together_a_moment_later(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    log = ConversationLog(path, flush_delay=0.05)
    for number in range(1000):
        log.write(f"line {number}")
    assert path.read_text(encoding="utf-8") == "", "nothing is written on the hot path"
    async with asyncio.timeout(5):
        while path.read_text(encoding="utf-8").count("\n") < 1000:
            await asyncio.sleep(0.01)  # polling the file: the flush has no event to wait on
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [f"line {number}" for number in range(1000)]
    log.write("after the flush")
    log.close()
    assert path.read_text(encoding="utf-8").endswith(" after the flush\n"), "close writes what is left"


async def test_flush_writes_at_once(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    log = ConversationLog(path, flush_delay=60)
    log.write("now")
    log.flush()
    assert path.read_text(encoding="utf-8").endswith(" now\n")
    log.close()


async def test_a_megabyte_of_lines_is_written_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logfiles, "EARLY_FLUSH_CHARACTERS", 1000)
    path = tmp_path / "server.log"
    log = ConversationLog(path, flush_delay=60)
    for number in range(100):  # about 3,000 characters with the dates
        log.write(f"line {number}")
    written = path.read_text(encoding="utf-8").splitlines()
    assert 1000 <= sum(len(line) + 1 for line in written) < 3000, "written in batches of about 1,000"
    log.close()
    assert len(path.read_text(encoding="utf-8").splitlines()) == 100


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no Unix file modes")
def test_a_log_file_is_private_to_its_owner(tmp_path: Path) -> None:
    new_log = conversation_log("client", tmp_path / "new")
    close_conversation_log(new_log)
    assert stat.S_IMODE((tmp_path / "new" / "client.log").stat().st_mode) == 0o600

    old_file = tmp_path / "old" / "client.log"  # left readable by everyone by an earlier version
    old_file.parent.mkdir()
    old_file.write_text("2024-01-01 00:00:00 an old line\n", encoding="utf-8")
    old_file.chmod(0o644)
    old_log = conversation_log("client", old_file.parent)
    old_log.write("a new line")
    close_conversation_log(old_log)
    assert stat.S_IMODE(old_file.stat().st_mode) == 0o600
    assert old_file.read_text(encoding="utf-8").splitlines()[0] == "2024-01-01 00:00:00 an old line"


def test_a_folder_whose_log_file_cannot_be_written_is_passed_over(tmp_path: Path, state_home: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "client.log").mkdir(parents=True)  # not a file anyone can append to, even root
    system = tmp_path / "system"
    assert choose_log_dir(shared, system_dir=system, file_name="client.log") == system
    assert choose_log_dir(shared, system_dir=system, file_name="server.log") == shared
