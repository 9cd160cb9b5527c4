"""``--web-port``, ``--web-origin`` and their config keys; the pure parts of the web front."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from chatlib.app.server.settings import server_settings
from chatlib.app.web.front import page_url
from chatlib.app.web.origins import OriginPolicy, checked_origin, origin_list
from chatlib.app.web.websocket_stream import OPCODE_BINARY, close_frame, frame_header


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty folder with an empty config home, so that no real chat.env is read."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config_home"))


def test_no_web_page_unless_asked() -> None:
    settings = server_settings([])
    assert (settings.web_port, settings.web_origins) == (None, ())


def test_web_options() -> None:
    settings = server_settings(
        ["--web-port", "8080", "--web-origin", "https://Class.example.org/", "--web-origin", "*"]
    )
    assert (settings.web_port, settings.web_origins) == (8080, ("https://class.example.org", "*"))


def test_web_keys_of_the_config_file_and_options_winning(tmp_path: Path) -> None:
    config = tmp_path / "chat.env"
    config.write_text("WEB_PORT=8081\nWEB_ORIGINS=https://a.example, http://10.0.0.5:8080\n", encoding="utf-8")
    settings = server_settings(["--config", str(config)])
    assert (settings.web_port, settings.web_origins) == (8081, ("https://a.example", "http://10.0.0.5:8080"))
    settings = server_settings(["--config", str(config), "--web-port", "9000", "--web-origin", "https://b.example"])
    assert (settings.web_port, settings.web_origins) == (9000, ("https://b.example",))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--web-port", "http"], "argument --web-port: invalid port 'http': not a number"),
        (
            ["--web-origin", "class.example.org"],
            "argument --web-origin: 'class.example.org' is not an origin such as https://example.org "
            "or http://10.0.0.5:8080",
        ),
    ],
)
def test_bad_web_options_stop_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        server_settings(argv)
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"chat-server: error: {message}"


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1:8080", True),
        ("https://chat.example.org", "chat.example.org", True),  # the same site, through an HTTPS proxy
        ("http://127.0.0.1:8081", "127.0.0.1:8080", False),
        ("http://localhost:8080", "127.0.0.1:8080", False),
        ("http://evil.example", "127.0.0.1:8080", False),
        ("null", "127.0.0.1:8080", False),
        ("file://", "127.0.0.1:8080", False),
        (None, "127.0.0.1:8080", True),
    ],
)
def test_same_origin_by_default(origin: str | None, host: str, allowed: bool) -> None:
    assert OriginPolicy().allows(origin, host) is allowed


def test_listed_origins_and_any() -> None:
    policy = OriginPolicy(["https://class.example.org"])
    assert policy.allows("https://CLASS.example.org", "127.0.0.1:8080")
    assert not policy.allows("http://class.example.org", "127.0.0.1:8080")
    assert OriginPolicy(["*"]).allows("http://evil.example", "127.0.0.1:8080")


@pytest.mark.parametrize("text", ["example.org", "ftp://example.org", "https://example.org/chat", "https://"])
def test_what_is_not_an_origin(text: str) -> None:
    with pytest.raises(ValueError):
        checked_origin(text)
    assert origin_list(" https://a.example ,https://b.example ") == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(
    ("length", "header"),
    [
        (0, b"\x82\x00"),
        (125, b"\x82\x7d"),
        (126, b"\x82\x7e\x00\x7e"),
        (65535, b"\x82\x7e\xff\xff"),
        (65536, b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ],
)
def test_websocket_frame_headers(length: int, header: bytes) -> None:
    assert frame_header(OPCODE_BINARY, length) == header


def test_close_frame_and_page_url() -> None:
    assert close_frame() == b"\x88\x02\x03\xe8"  # 1000: a normal closure
    assert page_url("127.0.0.1", 8080) == "http://127.0.0.1:8080/"
    assert page_url("::1", 8080, secure=True) == "https://[::1]:8080/"


def test_a_busy_web_port_stops_chat_server_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        command = [sys.executable, "-m", "chatlib.app.server", "-p", "0", "--web-port", str(port), "-q"]
        command += ["--data-dir", str(tmp_path / "data"), "--log-dir", str(tmp_path / "logs")]
        env = os.environ | {"XDG_CONFIG_HOME": str(tmp_path / "no-config")}
        finished = subprocess.run(command, capture_output=True, text=True, env=env, timeout=30)
    assert finished.returncode == 1
    assert finished.stderr.count("\n") == 1 and "Traceback" not in finished.stderr
    assert finished.stderr.endswith(f"(the web page's port {port})\n")
