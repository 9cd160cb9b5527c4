"""Helpers for the client's tests: a user made of queues, and the client run as a real program."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect

from chatlib.app.client.display import ChatLine, LineKind, plain_text
from chatlib.app.client.session_io import SessionIO

TIMEOUT = 5.0
CLOCK = r"\[\d\d:\d\d\] "
CLOCK_PATTERN = re.compile(CLOCK)


def without_clock(text: str) -> str:
    """A shown line with its ``[hh:mm] `` taken off, for exact comparisons."""
    return CLOCK_PATTERN.sub("", text, count=1)


class ScriptedUser:
    """The user side of a session for in-process tests: typed lines and answers are queued,
    shown lines are collected, and a test can wait until a given line has been shown."""

    def __init__(self, answers: list[str] | None = None, interactive: bool = True) -> None:
        self.answers = list(answers or [])
        self.interactive = interactive
        self.questions: list[str] = []
        self.lines: list[ChatLine] = []
        self._typed: asyncio.Queue[str | None] = asyncio.Queue()
        self._shown = asyncio.Event()

    def type(self, *lines: str) -> None:
        """Type these lines, as if Enter followed each."""
        for line in lines:
            self._typed.put_nowait(line)

    def end_input(self) -> None:
        """End the input, like Ctrl+D or the end of a pipe."""
        self._typed.put_nowait(None)

    async def read_line(self) -> str | None:
        return await self._typed.get()

    async def ask(self, question: str) -> str | None:
        self.questions.append(question)
        return self.answers.pop(0) if self.answers else None

    def show(self, line: ChatLine) -> None:
        self.lines.append(line)
        self._shown.set()

    def io(self) -> SessionIO:
        """The SessionIO of this user; without ``ask`` when not interactive."""
        return SessionIO(show=self.show, read_line=self.read_line, ask=self.ask if self.interactive else None)

    def texts(self, *kinds: LineKind) -> list[str]:
        """The plain text of the lines shown so far (of the given kinds), without their clock."""
        return [without_clock(plain_text(line)) for line in self.lines if not kinds or line.kind in kinds]

    async def wait_for(self, text: str, timeout: float = TIMEOUT) -> ChatLine:
        """Wait until a line whose plain text (clock removed) is exactly ``text`` has been shown."""
        return await self.wait_for_line(lambda line: without_clock(plain_text(line)) == text, timeout)

    async def wait_for_line(self, wanted: Callable[[ChatLine], bool], timeout: float = TIMEOUT) -> ChatLine:
        """Wait until a line for which ``wanted(line)`` holds has been shown; return the first one."""
        async with asyncio.timeout(timeout):
            while True:
                for line in self.lines:
                    if wanted(line):
                        return line
                self._shown.clear()
                await self._shown.wait()


def client_environment(home: Path) -> dict[str, str]:
    """Environment for a client subprocess: no config file from the real user, a known terminal."""
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".state"),
        TERM="xterm-256color",
        PROMPT_TOOLKIT_NO_CPR="1",  # no terminal emulator here to answer cursor position requests
        PYTHONUNBUFFERED="1",
    )
    return env


def client_command(port: int, log_dir: Path, *options: str) -> list[str]:
    """The command line of ``chat-client`` (as ``python -m``) for the test server."""
    return [sys.executable, "-m", "chatlib.app.client", "-p", str(port), "--log-dir", str(log_dir), *options]


async def start_scripted_client(
    port: int, log_dir: Path, home: Path, *options: str
) -> asyncio.subprocess.Process:
    """Start the client with pipes for stdin, stdout and stderr: its scripted mode."""
    home.mkdir(parents=True, exist_ok=True)
    command = client_command(port, log_dir, *options)
    return await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=home,
        env=client_environment(home),
    )


class PtyClient:
    """The client in a real pseudo-terminal, driven with pexpect from async tests.

    pexpect blocks, so each wait runs in a thread while the test's event loop keeps serving.
    """

    def __init__(self, port: int, log_dir: Path, home: Path, *options: str) -> None:
        home.mkdir(parents=True, exist_ok=True)
        command = client_command(port, log_dir, *options)
        self.child = pexpect.spawn(
            command[0],
            command[1:],
            cwd=str(home),
            env=client_environment(home),
            encoding="utf-8",
            timeout=TIMEOUT,
            dimensions=(30, 120),
        )
        self.transcript: list[str] = []

    async def expect(self, pattern: str, timeout: float = TIMEOUT) -> str:
        """Wait for a regular expression in the output; return what matched."""
        async with asyncio.timeout(timeout + 2):
            await asyncio.to_thread(self.child.expect, pattern, timeout=timeout)
        self.transcript.append(self.child.before + self.child.after)
        return str(self.child.after)

    async def expect_exact(self, text: str, timeout: float = TIMEOUT) -> None:
        """Wait for this exact text in the output."""
        await self.expect(re.escape(text), timeout)

    def send(self, keys: str) -> None:
        """Type keys (``\\r`` is Enter)."""
        self.child.send(keys)

    async def exit_status(self, timeout: float = TIMEOUT) -> int:
        """Wait for the program to end; its exit status (128 + N if killed by signal N)."""
        async with asyncio.timeout(timeout + 2):
            await asyncio.to_thread(self.child.expect, pexpect.EOF, timeout=timeout)
        self.transcript.append(self.child.before)
        self.child.close()
        if self.child.signalstatus is not None:
            return 128 + self.child.signalstatus
        return int(self.child.exitstatus)

    def output(self) -> str:
        """Everything the program printed so far, as read by the expectations."""
        return "".join(self.transcript)

    def kill(self) -> None:
        """Make sure the program is gone at the end of a test."""
        if self.child.isalive():
            self.child.terminate(force=True)
