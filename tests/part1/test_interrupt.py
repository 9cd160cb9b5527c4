"""Ctrl+C in a real terminal stops the Part I commands with one line, not a traceback."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pexpect
import pytest

pytestmark = pytest.mark.pty


def spawn_module(module: str, *arguments: str) -> pexpect.spawn:
    """Start `python -m chatlib.first_steps.<module> ...` in a pseudo-terminal."""
    return pexpect.spawn(sys.executable, ["-m", f"chatlib.first_steps.{module}", *arguments],
                         encoding="utf-8", timeout=20)


def expect_clean_interrupt(child: pexpect.spawn) -> None:
    """Press Ctrl+C and check the command says so in one line and exits with status 130."""
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert "Traceback" not in (child.before or "")
    # The terminal itself echoes the key as "^C" just before the message.
    assert (child.before or "").strip().splitlines()[-1].removeprefix("^C") == "Interrupted."
    assert child.exitstatus == 130


@pytest.mark.parametrize("module", ["sleep_and_print", "sleep_and_print_async"])
def test_ctrl_c_stops_a_count(module: str) -> None:
    child = spawn_module(module, "--pause", "30")
    child.expect_exact("0\r\n")
    expect_clean_interrupt(child)


@pytest.mark.parametrize("module", ["web_sync", "web_async", "web_sync_multiple", "web_async_multiple"])
def test_ctrl_c_stops_a_download_waiting_for_its_page(module: str, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent_server:
        silent_server.settimeout(20)
        url = f"http://127.0.0.1:{silent_server.getsockname()[1]}/page/1"
        if module.endswith("_multiple"):
            (tmp_path / "urls.txt").write_text(url + "\n")
            child = spawn_module(module, str(tmp_path / "urls.txt"), "--output-dir", str(tmp_path))
        else:
            child = spawn_module(module, url, "-o", str(tmp_path / "page"))
        connection, _ = silent_server.accept()
        with connection:
            expect_clean_interrupt(child)
