"""The server's limit options: defaults, each option, --no-rate-limit, and bad values."""

from __future__ import annotations

import pytest

from chatlib.app.server.limits import ServerLimits
from chatlib.app.server.ratelimit import RateLimit
from chatlib.app.server.settings import server_settings


@pytest.fixture(autouse=True)
def no_config_file(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty folder with no user config, so only the options count."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))


def test_the_defaults_are_the_documented_limits() -> None:
    assert server_settings([]).limits == ServerLimits()


def test_each_limit_option() -> None:
    limits = server_settings(
        [
            "--max-connections",
            "50",
            "--max-per-ip",
            "5",
            "--hello-timeout",
            "2.5",
            "--idle-timeout",
            "30",
            "--rate-limit",
            "20",
        ]
    ).limits
    assert (limits.max_connections, limits.max_connections_per_ip) == (50, 5)
    assert (limits.hello_timeout, limits.idle_timeout) == (2.5, 30.0)
    assert limits.rate_limit == RateLimit(per_second=20.0)


def test_no_rate_limit_switches_flood_control_off() -> None:
    assert server_settings(["--no-rate-limit"]).limits.rate_limit is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-connections", "0"], "argument --max-connections: invalid number 0: must be 1 or more"),
        (["--max-per-ip", "many"], "argument --max-per-ip: invalid number 'many'"),
        (
            ["--idle-timeout", "-1"],
            "argument --idle-timeout: invalid duration '-1': must be more than 0 seconds",
        ),
        (["--rate-limit", "fast"], "argument --rate-limit: invalid rate 'fast': not a number"),
        (
            ["--rate-limit", "0"],
            "argument --rate-limit: invalid rate '0': must be more than 0 (or use --no-rate-limit)",
        ),
    ],
)
def test_bad_limits_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        server_settings(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"chat-server: error: {message}"
