"""The client's two faces: a prompt_toolkit terminal UI, and a plain line-by-line scripted mode.

Both supply the ``show``/``read_line``/``ask`` callables a ``SessionIO`` needs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

from prompt_toolkit import PromptSession, print_formatted_text
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.history import InMemoryHistory

from chatlib.app.client.display import STYLE, ChatLine, LineKind, formatted_text, picture_ansi, plain_text
from chatlib.app.client.reflow import ReflowGuard
from chatlib.app.client.session_io import SessionIO

CHAT_PROMPT = "> "
READ_SIZE = 64 * 1024
CONVERSATION_KINDS = frozenset(
    {
        LineKind.MESSAGE,
        LineKind.OWN_MESSAGE,
        LineKind.ANNOUNCEMENT,
        LineKind.GREETING,
        LineKind.HISTORY_MARK,
        LineKind.IMAGE,
        LineKind.PICTURE,
    }
)


def lines_from(fd: int) -> Iterator[str]:
    """The lines read from a file descriptor, without their line endings, until its end or an error."""
    pending = b""
    try:
        while chunk := os.read(fd, READ_SIZE):
            *complete, pending = (pending + chunk).split(b"\n")
            for raw in complete:
                yield raw.decode("utf-8", errors="replace").removesuffix("\r")
    except OSError:
        pass  # a closed terminal or descriptor: treat it as the end of input
    if pending:
        yield pending.decode("utf-8", errors="replace").removesuffix("\r")


class TerminalIO:
    """An interactive terminal: the input line stays at the bottom while chat lines print above.

    Run the session inside ``prompt_toolkit.patch_stdout.patch_stdout()`` so that any other
    print also goes above the input line. Up and down arrows recall the lines typed before.
    The input line is one row (a long line scrolls sideways) and is erased when Enter sends
    it: the session shows a message once, as ``Vous avez dit : ...``, and a command by its result.
    """

    def __init__(self) -> None:
        self._questions: PromptSession[str] = PromptSession()
        reflow_guard = ReflowGuard()
        self._chat: PromptSession[str] = PromptSession(
            history=InMemoryHistory(),
            erase_when_done=True,
            wrap_lines=False,
            key_bindings=reflow_guard.key_bindings,
        )
        reflow_guard.watch(self._chat.app)

    def show(self, line: ChatLine) -> None:
        """Print a line above the input line, colored; a picture keeps its own ANSI colors."""
        if line.kind is LineKind.PICTURE:
            print_formatted_text(ANSI(picture_ansi(line.text)))
        else:
            print_formatted_text(formatted_text(line), style=STYLE)

    @staticmethod
    def picture_columns() -> int:
        """Pictures fill the terminal's width (less one column, so no line wraps)."""
        return max(1, shutil.get_terminal_size().columns - 1)

    async def ask(self, question: str) -> str | None:
        """Ask a question; None if the user ends input with Ctrl+D."""
        try:
            return await self._questions.prompt_async(question)
        except EOFError:
            return None

    async def read_line(self) -> str | None:
        """The next line typed; None when the user presses Ctrl+D or Ctrl+C to leave."""
        try:
            return await self._chat.prompt_async(CHAT_PROMPT)
        except (EOFError, KeyboardInterrupt):
            return None

    def session_io(self) -> SessionIO:
        """The callables a session needs; pictures in color, as wide as the terminal."""
        return SessionIO(
            show=self.show,
            read_line=self.read_line,
            ask=self.ask,
            picture_columns=self.picture_columns,
            colored_pictures=True,
        )


class ScriptedIO:
    """Input from a pipe or a file, one message a line; output as plain text, nothing asked.

    The conversation goes to ``output``; notices, errors and the server closing go to
    ``diagnostics``, so that ``chat-client ... < lines.txt > conversation.txt`` keeps only the chat.
    """

    def __init__(
        self,
        source_fd: int | None = None,
        output: TextIO | None = None,
        diagnostics: TextIO | None = None,
    ) -> None:
        self._source_fd = source_fd if source_fd is not None else sys.stdin.fileno()
        self._output = output if output is not None else sys.stdout
        self._diagnostics = diagnostics if diagnostics is not None else sys.stderr
        self._lines: asyncio.Queue[str | None] | None = None

    def show(self, line: ChatLine) -> None:
        """Print a line as plain text, on the output or the diagnostics stream."""
        stream = self._output if line.kind in CONVERSATION_KINDS else self._diagnostics
        print(plain_text(line), file=stream, flush=True)

    async def read_line(self) -> str | None:
        """The next input line without its line ending; None at the end of input."""
        if self._lines is None:
            self._lines = asyncio.Queue()
            self._start_reader(self._lines)
        return await self._lines.get()

    def _start_reader(self, lines: asyncio.Queue[str | None]) -> None:
        """Read the source in a daemon thread: a blocking read works on pipes, files and ttys
        alike, and a daemon thread never keeps the program alive once the session is over.

        The thread reads the file descriptor with ``os.read``, not through ``sys.stdin``: a
        thread still blocked inside a buffered file object makes the interpreter abort at exit.
        """
        loop = asyncio.get_running_loop()

        def put(line: str | None) -> None:
            loop.call_soon_threadsafe(lines.put_nowait, line)

        def read_all() -> None:
            try:
                for line in lines_from(self._source_fd):
                    put(line)
                put(None)
            except RuntimeError:
                pass  # the event loop is closed: the session is over, nobody wants the lines

        threading.Thread(target=read_all, name="read input lines", daemon=True).start()

    def session_io(self) -> SessionIO:
        """The callables a session needs; there is nobody to ask questions, pictures are plain text."""
        return SessionIO(show=self.show, read_line=self.read_line, ask=None)
