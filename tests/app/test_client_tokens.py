"""The client's token file: where it is, what it holds, written atomically and kept private."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from chatlib.app.client.tokens import TOKENS_FILE, TokenStore, default_state_dir, read_tokens


def test_default_place_follows_xdg_state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_state_dir() == tmp_path / "state" / "chat_room"
    assert TokenStore.in_state_dir().path == tmp_path / "state" / "chat_room" / TOKENS_FILE
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_dir() == tmp_path / "home" / ".local" / "state" / "chat_room"


def test_tokens_are_kept_per_server_and_pseudo_in_a_private_file(tmp_path: Path) -> None:
    store = TokenStore.in_state_dir(tmp_path / "state")
    assert store.token_for("127.0.0.1", 8888, "alice") == ""
    store.remember("127.0.0.1", 8888, "Alice", "token-a")
    store.remember("127.0.0.1", 9999, "alice", "token-b")
    store.remember("127.0.0.1", 8888, "bob", "token-c")

    assert store.token_for("127.0.0.1", 8888, "  ALICE ") == "token-a"  # the server's name rules
    assert store.token_for("127.0.0.1", 9999, "alice") == "token-b"
    assert store.token_for("localhost", 8888, "alice") == ""
    assert json.loads(store.path.read_text("utf-8")) == {
        "127.0.0.1:8888": {"alice": "token-a", "bob": "token-c"},
        "127.0.0.1:9999": {"alice": "token-b"},
    }
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert [path.name for path in store.path.parent.iterdir()] == [TOKENS_FILE]  # no temporary left


def test_a_new_token_replaces_the_old_one(tmp_path: Path) -> None:
    servers = TokenStore(tmp_path / TOKENS_FILE).for_server("127.0.0.1", 8888)
    servers.remember("alice", "old")
    servers.remember("alice", "new")
    assert servers.token_for("alice") == "new"


@pytest.mark.parametrize("content", ["", "not json", "[1, 2]", '{"127.0.0.1:8888": "x"}'])
def test_a_damaged_file_holds_no_token_and_is_replaced_on_the_next_save(tmp_path: Path, content: str) -> None:
    path = tmp_path / TOKENS_FILE
    path.write_text(content, "utf-8")
    assert read_tokens(path) == {}
    store = TokenStore(path)
    store.remember("127.0.0.1", 8888, "alice", "t")
    assert read_tokens(path) == {"127.0.0.1:8888": {"alice": "t"}}


def test_an_unwritable_folder_raises_oserror(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("in the way", "utf-8")
    with pytest.raises(OSError):
        TokenStore.in_state_dir(blocker).remember("127.0.0.1", 8888, "alice", "t")
