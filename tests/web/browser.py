"""Real programs for the browser tests: headless Chromium, ``chat-server --web-port``, ``chat-client``.

Chromium is the system's own (Debian's ``chromium`` package), driven by Playwright: Playwright's
own browser download is never used. Everything here is synchronous, as Playwright's sync API is;
the programs run in subprocesses, each waited on with a timeout.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from chatlib.app.web.front import WEBSOCKET_PATH
from tests.app.client_fixtures import client_environment, without_clock

TIMEOUT = 15.0  # seconds for anything a test waits for (the machine may be busy)
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
NO_BROWSER = (
    "no Chromium to test the web page with: install it (Debian/Ubuntu: apt-get install chromium) "
    "or set CHAT_TEST_BROWSER=/path/to/chrome"
)
# As root in a container, on a machine without a screen or a network: no sandbox, no GPU, and
# none of Chromium's own connections to Google's services.
BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LISTENING = re.compile(r"chat server listening on 127\.0\.0\.1:(\d+)")
WEB_PAGE = re.compile(r"web page on http://127\.0\.0\.1:(\d+)/")


def find_browser() -> str | None:
    """The Chromium to test with: ``$CHAT_TEST_BROWSER``, else the first one on the PATH (None: none)."""
    explicit = os.environ.get("CHAT_TEST_BROWSER")
    if explicit:
        return explicit
    return next((path for name in BROWSER_NAMES if (path := shutil.which(name))), None)


class ServerProcess:
    """``chat-server --web-port`` in a subprocess, with its data in ``folder`` (kept across restarts)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.web_port = 0
        self._starts = 0

    @property
    def url(self) -> str:
        """The page's address."""
        return f"http://127.0.0.1:{self.web_port}/"

    @property
    def websocket_url(self) -> str:
        return f"ws://127.0.0.1:{self.web_port}{WEBSOCKET_PATH}"

    def start(self, *options: str) -> None:
        """Start the server (on the web port it had before, if it ran already) and wait until it listens."""
        self._starts += 1
        console = self.folder / f"console-{self._starts}.txt"
        command = [sys.executable, "-m", "chatlib.app.server", "--port", "0", "--web-port", str(self.web_port)]
        command += ["--data-dir", str(self.folder / "data"), "--log-dir", str(self.folder / "logs"), *options]
        env = os.environ | {"XDG_CONFIG_HOME": str(self.folder / "no-config")}
        with console.open("wb") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=output, cwd=self.folder, env=env)
        deadline = time.monotonic() + TIMEOUT
        while not (found := WEB_PAGE.search(text := console.read_text(errors="replace"))):
            assert self.process.poll() is None, text
            assert time.monotonic() < deadline, f"chat-server did not start:\n{text}"
            time.sleep(0.05)  # waiting for a process to start: nothing to wait on instead
        self.web_port = int(found.group(1))
        listening = LISTENING.search(text)
        assert listening is not None, text
        self.port = int(listening.group(1))

    def stop(self) -> None:
        """Stop it as Ctrl+C would (SIGTERM): it tells every client and saves."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=TIMEOUT)

    def kill(self) -> None:
        """Make sure it is gone at the end of a test."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)


class TerminalUser:
    """``chat-client`` in its scripted mode: lines typed on its stdin, what it shows read off its stdout."""

    def __init__(self, server: ServerProcess, pseudo: str, room: str) -> None:
        home = server.folder / f"home-{pseudo}"
        home.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "chatlib.app.client", "-p", str(server.port), "--log-dir", str(home)]
        self.process = subprocess.Popen(
            [*command, "--pseudo", pseudo, "--room", room],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=home,
            env=client_environment(home),
            encoding="utf-8",
        )
        self.lines: list[str] = []  # what it showed so far, each without its [hh:mm]
        self._arrived: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._arrived.put(without_clock(line.rstrip("\n")))
        self._arrived.put(None)

    def type(self, line: str) -> None:
        """Type a line and Enter (a message, or a command such as ``/image PATH``)."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait_for(self, text: str, timeout: float = TIMEOUT) -> None:
        """Wait until it has shown the line ``text`` (exactly, its time taken off)."""
        deadline = time.monotonic() + timeout
        while text not in self.lines:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{text!r} never shown; shown: {self.lines}"
            try:
                line = self._arrived.get(timeout=remaining)
            except queue.Empty:
                continue
            assert line is not None, f"chat-client ended before showing {text!r}; shown: {self.lines}"
            self.lines.append(line)

    def quit(self) -> None:
        """End its input, as Ctrl+D: it says goodbye and ends."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=TIMEOUT)
