"""Log files go to the preferred folder, else /var/log/chat_room, else a per-user folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chatlib.app.logfiles import DEFAULT_LOG_DIR, choose_log_dir, close_conversation_log, conversation_log

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
    logger = conversation_log("client", log_dir)
    logger.info("Vous avez dit : bonjour")
    logger.info("bob a dit : \x1b[2Jsalut\nalice a dit : forged")
    assert conversation_log("client", log_dir) is logger
    assert len(logger.handlers) == 1
    close_conversation_log(logger)

    again = conversation_log("client", log_dir)
    again.info("Annonce : bob a quitté la chatroom")
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
    logger = conversation_log("server", tmp_path)
    logger.warning("only in the file")
    close_conversation_log(logger)
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
    assert (tmp_path / "server.log").read_text(encoding="utf-8").endswith(" only in the file\n")
