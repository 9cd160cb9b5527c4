"""Settings come from defaults < config file < command-line options, and bad ones stop cleanly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatlib.app.client.settings import ClientSettings, client_settings
from chatlib.app.server.history import DEFAULT_HISTORY_LENGTH
from chatlib.app.server.settings import ServerSettings, server_settings
from chatlib.app.shared.settings_file import DEFAULT_HOST, DEFAULT_PORT, SERVER_KEYS


@pytest.fixture(autouse=True)
def isolated_config_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run each test in an empty folder with an empty user config home, so no real file is read."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config_home"))
    return work


def write_config(path: Path, text: str) -> Path:
    """Write a config file (creating its folder) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The last line argparse printed on stderr; stdout must stay empty and no traceback shown."""
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    return captured.err.strip().splitlines()[-1]


def test_defaults_without_file_or_options() -> None:
    assert server_settings([]) == ServerSettings(
        host=DEFAULT_HOST, port=DEFAULT_PORT, log_dir=None, verbose=False
    )
    assert client_settings([]) == ClientSettings(
        host="127.0.0.1", port=8888, pseudo=None, room=None, log_dir=None
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["-p", "9999", "-a", "127.0.0.2"],
        ["--port", "9999", "--address", "127.0.0.2"],
        ["--port=9999", "-a127.0.0.2"],
    ],
)
def test_short_and_long_options(argv: list[str]) -> None:
    assert server_settings(argv).port == 9999
    assert server_settings(argv).host == "127.0.0.2"
    assert client_settings(argv).port == 9999
    assert client_settings(argv).host == "127.0.0.2"


def test_server_options(tmp_path: Path) -> None:
    settings = server_settings(["--log-dir", str(tmp_path / "logs"), "-v"])
    assert settings.log_dir == tmp_path / "logs"
    assert settings.verbose is True


def test_client_options() -> None:
    settings = client_settings(["--pseudo", "zoé", "--room", "général"])
    assert (settings.pseudo, settings.room) == ("zoé", "général")


def test_file_in_current_folder_is_read(isolated_config_places: Path) -> None:
    write_config(
        isolated_config_places / "chat.env",
        "# the chat's settings\nHOST=127.0.0.3\nPORT=9999\nLOG_DIR=~/chat_logs\n"
        "VERBOSE=yes\nPSEUDO=alice\nROOM=python\n",
    )
    assert server_settings([]) == ServerSettings(
        host="127.0.0.3", port=9999, log_dir=Path.home() / "chat_logs", verbose=True
    )
    assert client_settings([]) == ClientSettings(
        host="127.0.0.3", port=9999, pseudo="alice", room="python", log_dir=Path.home() / "chat_logs"
    )


def test_file_in_user_config_home_is_read(tmp_path: Path) -> None:
    write_config(tmp_path / "config_home" / "chat_room" / "chat.env", "PORT=7000\n")
    assert client_settings([]).port == 7000


def test_current_folder_file_wins_over_user_config_home(tmp_path: Path, isolated_config_places: Path) -> None:
    write_config(tmp_path / "config_home" / "chat_room" / "chat.env", "PORT=7000\n")
    write_config(isolated_config_places / "chat.env", "PORT=7001\n")
    assert client_settings([]).port == 7001


def test_explicit_config_file_and_options_win_over_it(tmp_path: Path, isolated_config_places: Path) -> None:
    write_config(isolated_config_places / "chat.env", "PORT=7001\n")
    explicit = write_config(tmp_path / "elsewhere.env", 'HOST="10.1.2.3"\nPORT=9999\nPSEUDO=bob\n')
    assert client_settings(["--config", str(explicit)]) == ClientSettings(
        host="10.1.2.3", port=9999, pseudo="bob", room=None, log_dir=None
    )
    overridden = client_settings(["--config", str(explicit), "-p", "1234", "--pseudo", "carol"])
    assert (overridden.host, overridden.port, overridden.pseudo) == ("10.1.2.3", 1234, "carol")


def test_verbose_from_file_can_be_turned_off_on_the_command_line(isolated_config_places: Path) -> None:
    write_config(isolated_config_places / "chat.env", "VERBOSE=true\n")
    assert server_settings([]).verbose is True
    assert server_settings(["--no-verbose"]).verbose is False


def test_file_is_not_loaded_into_the_environment(
    isolated_config_places: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PSEUDO", raising=False)
    write_config(isolated_config_places / "chat.env", "PSEUDO=alice\n")
    client_settings([])
    assert "PSEUDO" not in os.environ


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-p", "http"], "chat-client: error: argument -p/--port: invalid port 'http': not a number"),
        (
            ["--port", "70000"],
            "chat-client: error: argument -p/--port: invalid port 70000: must be between 0 and 65535",
        ),
        (["--colour", "red"], "chat-client: error: unrecognized arguments: --colour red"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        client_settings(argv)
    assert stopped.value.code == 2
    assert error_line(capsys) == message


@pytest.mark.parametrize(
    ("text", "message_end"),
    [
        ("PORT=eighty\n", "PORT: invalid port 'eighty': not a number"),
        ("PORT=-1\n", "PORT: invalid port -1: must be between 0 and 65535"),
        (
            "HOST=127.0.0.1\nCOLOUR=red\n",
            f"unknown key 'COLOUR' (known keys: {', '.join(sorted(SERVER_KEYS))})",
        ),
        ("HOST\n", "HOST has no value (write HOST=...)"),
        ("VERBOSE=maybe\n", "VERBOSE: 'maybe' is not a yes/no value (use true or false)"),
        ("HISTORY_LENGTH=lots\n", "HISTORY_LENGTH: invalid history length 'lots': not a number"),
        ("HISTORY_LENGTH=-5\n", "HISTORY_LENGTH: invalid history length -5: must be 0 or more"),
        ("HOST=127.0.0.1\nthis is not a setting\n", "line 2: not KEY=VALUE"),
    ],
)
def test_bad_file_exits_2_with_one_line(
    text: str, message_end: str, isolated_config_places: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(isolated_config_places / "chat.env", text)
    with pytest.raises(SystemExit) as stopped:
        server_settings([])
    assert stopped.value.code == 2
    line = error_line(capsys)
    assert line.startswith(f"chat-server: error: config file {config}")
    assert line.endswith(message_end)


def test_missing_explicit_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.env"
    with pytest.raises(SystemExit) as stopped:
        client_settings(["--config", str(missing)])
    assert stopped.value.code == 2
    assert (
        error_line(capsys)
        == f"chat-client: error: cannot read config file {missing}: No such file or directory"
    )


def test_folder_given_as_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        client_settings(["--config", str(tmp_path)])
    assert stopped.value.code == 2
    assert error_line(capsys) == f"chat-client: error: cannot read config file {tmp_path}: Is a directory"


def test_binary_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "image.env"
    binary.write_bytes(b"PORT=\xff\xfe\n")
    with pytest.raises(SystemExit) as stopped:
        client_settings(["--config", str(binary)])
    assert stopped.value.code == 2
    assert error_line(capsys) == f"chat-client: error: config file {binary}: not UTF-8 text"


def test_client_keys_in_a_shared_file_do_not_bother_the_server(isolated_config_places: Path) -> None:
    write_config(isolated_config_places / "chat.env", "PORT=9999\nPSEUDO=alice\nROOM=python\n")
    assert server_settings([]).port == 9999


def test_server_data_settings_default_then_file_then_options(
    tmp_path: Path, isolated_config_places: Path
) -> None:
    defaults = server_settings([])
    assert (defaults.data_dir, defaults.history_length) == (None, DEFAULT_HISTORY_LENGTH)
    write_config(isolated_config_places / "chat.env", "DATA_DIR=~/chat_data\nHISTORY_LENGTH=7\n")
    from_file = server_settings([])
    assert (from_file.data_dir, from_file.history_length) == (Path.home() / "chat_data", 7)
    from_options = server_settings(["--data-dir", str(tmp_path / "data"), "--history-length", "0"])
    assert (from_options.data_dir, from_options.history_length) == (tmp_path / "data", 0)


def test_server_data_keys_in_a_shared_file_do_not_bother_the_client(isolated_config_places: Path) -> None:
    write_config(isolated_config_places / "chat.env", "PORT=9999\nDATA_DIR=/srv/chat\nHISTORY_LENGTH=3\n")
    assert client_settings([]).port == 9999


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--history-length", "ten"],
            "chat-server: error: argument --history-length: invalid history length 'ten': not a number",
        ),
        (
            ["--history-length", "-1"],
            "chat-server: error: argument --history-length: invalid history length -1: must be 0 or more",
        ),
        (["--data-dir"], "chat-server: error: argument --data-dir: expected one argument"),
    ],
)
def test_bad_server_data_options_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        server_settings(argv)
    assert stopped.value.code == 2
    assert error_line(capsys) == message


def test_client_state_dir_default_then_file_then_option(tmp_path: Path, isolated_config_places: Path) -> None:
    assert client_settings([]).state_dir is None
    write_config(isolated_config_places / "chat.env", "STATE_DIR=~/chat_state\n")
    assert client_settings([]).state_dir == Path.home() / "chat_state"
    assert client_settings(["--state-dir", str(tmp_path / "s")]).state_dir == tmp_path / "s"
    assert server_settings([]).port == DEFAULT_PORT  # the client's key does not bother the server
