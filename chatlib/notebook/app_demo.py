"""Run the finished chat app from notebook cells: a ``ChatServer`` in the background, and chat
users driven by code whose screens a cell can show.

``server = await start_chat_server(host, port)`` serves on the kernel's event loop while other
cells run; the cell shows what starting logged, and the console lines that come later are kept in
``server.lines`` (``server.print_new_lines()`` shows those no cell has shown yet), so that they
never land under an unrelated cell; stopping the server prints what stopping logged, under the
cell that stops it. A port already taken raises ``PortInUse``, one line saying by whom. Running
the cell again replaces the server (with ``data_dir=...`` the new server finds the known users
and the history the last one saved).
``alice = await join_chat("alice", "general", host, port)`` runs the finished client's session
(``chatlib.app.client.session``) with lines typed by ``alice.type(...)`` instead of a keyboard, and keeps
every ``ChatLine`` it shows; a cell ending with ``alice`` (or ``side_by_side(alice, bob)``)
renders them as the terminal would, through ``chatlib.app.client.display``: HTML with the pseudos in
their colors, plain text elsewhere. ``await stop_all()`` ends every user and server.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatlib.app.client.display import STYLE, ChatLine, fragments, plain_text
from chatlib.app.client.server_link import ServerLink
from chatlib.app.client.session import ChatSession
from chatlib.app.client.session_io import SessionEnd, SessionError, SessionIO
from chatlib.app.protocol import Welcome, wording
from chatlib.app.protocol.names import name_key
from chatlib.app.server.chat_server import ChatServer
from chatlib.notebook.background import LiveText
from chatlib.notebook.ports import PortInUse, is_address_in_use

DEFAULT_HOST = "127.0.0.1"
TIMEOUT = 5.0
PICTURE_COLUMNS = 64  # how wide a notebook user's screen draws received images
SERVER_LOGGER = logging.getLogger("chatlib.app.server")

_SERVERS: dict[tuple[str, int], NotebookServer] = {}
_USERS: dict[tuple[str, str, int], ChatUser] = {}  # by (name_key(pseudo), host, port)
_TOKENS: dict[tuple[str, str, int], str] = {}  # the token each pseudo got from each server
_raised_logger_level = False  # whether a console set the server logger's level to INFO


class _ConsoleHandler(logging.Handler):
    """Sends the server's console log lines to its ``LiveText``, printed under the running cell
    too while ``printing`` (while a cell stops the server)."""

    def __init__(self, console: LiveText) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        self._console = console
        self.printing = False

    def emit(self, record: logging.LogRecord) -> None:
        """Keep one log record as one console line, and print it while ``printing``."""
        if self.printing:
            self._console.announce(self.format(record))
        else:
            self._console.add(self.format(record))


class NotebookServer(LiveText):
    """A ``ChatServer`` serving in the background; ``lines`` holds its console log lines."""

    def __init__(self, host: str, port: int, data_dir: Path | None = None) -> None:
        super().__init__(f"Chat server {host}:{port} console")
        self.chat = ChatServer(data_dir=data_dir)
        self.host = host
        self.port = port
        self._handler = _ConsoleHandler(self)

    async def start(self) -> None:
        """Listen (port 0 picks a free port) and send the server's console logs here."""
        self._attach_console()
        try:
            self.host, self.port = await self.chat.start(self.host, self.port)
        except OSError as error:
            self._detach_console()
            if is_address_in_use(error):
                raise PortInUse(self.host, self.port) from None  # one line: who holds it, what to do
            raise
        self.title = f"Chat server {self.host}:{self.port} console"
        self.add(f"listening on {self.host}:{self.port}")

    async def stop(self) -> None:
        """Tell every client the server is closing, close them all and stop listening; what the
        server logs meanwhile is printed under the cell that stops it."""
        if _SERVERS.get((self.host, self.port)) is self:
            del _SERVERS[(self.host, self.port)]
        self._handler.printing = True
        try:
            await self.chat.stop()
        finally:
            self._handler.printing = False
            self._detach_console()

    def _attach_console(self) -> None:
        """Route the server's INFO logs here (a kernel's root logger lets only warnings through)."""
        global _raised_logger_level
        if SERVER_LOGGER.level == logging.NOTSET:
            SERVER_LOGGER.setLevel(logging.INFO)
            _raised_logger_level = True
        SERVER_LOGGER.addHandler(self._handler)

    def _detach_console(self) -> None:
        """Stop routing logs here; once no console is left, give the logger its level back."""
        global _raised_logger_level
        SERVER_LOGGER.removeHandler(self._handler)
        consoles_left = any(isinstance(handler, _ConsoleHandler) for handler in SERVER_LOGGER.handlers)
        if _raised_logger_level and not consoles_left:
            SERVER_LOGGER.setLevel(logging.NOTSET)
            _raised_logger_level = False


async def start_chat_server(
    host: str = DEFAULT_HOST, port: int = 8888, data_dir: Path | None = None
) -> NotebookServer:
    """Start a chat server in the background, replacing the one this module started on that address.

    With a ``data_dir``, the server keeps its known users and history there (and finds them
    again after a restart); without one, they last as long as the server.
    """
    previous = _SERVERS.get((host, port))
    if previous is not None:
        await previous.stop()
    server = NotebookServer(host, port, data_dir)
    await server.start()
    _SERVERS[(server.host, server.port)] = server
    return server


class ChatUser:
    """One person in the chat, driven by code: what they type comes from ``type``, and what
    their client would print is kept in ``chat_lines`` (``lines`` as plain text).

    The session is the finished client's own (``ChatSession``); like a real client, the user
    keeps the token the server gave them, so that they come back as themselves next time.
    """

    def __init__(self, pseudo: str, room: str, host: str, port: int, token: str = "") -> None:
        self.pseudo = pseudo
        self.wanted_room = room
        self.address = (host, port)
        self.token = token
        self.welcome: Welcome | None = None
        self.chat_lines: list[ChatLine] = []
        self.end: SessionEnd | None = None
        self.error: BaseException | None = None
        self._session: ChatSession | None = None
        self._typed: asyncio.Queue[str | None] = asyncio.Queue()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[SessionEnd] | None = None

    @property
    def lines(self) -> list[str]:
        """The screen as plain text lines, as a terminal without colors shows it."""
        return [plain_text(line) for line in self.chat_lines]

    @property
    def room(self) -> str | None:
        """The room the user is in now (None before entering one)."""
        return self._session.room if self._session is not None else None

    @property
    def running(self) -> bool:
        """Whether the session is still going on."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Connect, log in, enter the room and chat, as a background task."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"chat user {self.pseudo}")
        self._task.add_done_callback(self._record_end)

    async def _run(self) -> SessionEnd:
        """The steps of ``chatlib.app.client.session.run_session``, keeping the WELCOME and its token."""
        host, port = self.address
        try:
            link = await ServerLink.open(host, port)
        except OSError as error:
            raise SessionError(f"cannot connect to {host}:{port}: {error.strerror or error}") from None
        self._session = ChatSession(
            link,
            SessionIO(show=self._show, read_line=self._read_line, picture_columns=lambda: PICTURE_COLUMNS),
        )
        try:
            self.welcome = await self._session.log_in(self.pseudo, self.token)
            self.token = self.welcome.token or self.token
            _TOKENS[(name_key(self.pseudo), host, port)] = self.token
            await self._session.enter_room(self.wanted_room)
            self._changed.set()
            return await self._session.converse()
        finally:
            await link.close()

    def type(self, text: str) -> None:
        """Type a line and press Enter: a message, or a command such as ``/join jeux``."""
        self._typed.put_nowait(text)

    async def wait_for(self, ending: str, timeout: float = TIMEOUT) -> str:
        """Wait until the screen shows a line ending with ``ending`` (its ``[hh:mm]`` varies); return
        the last such line.

        Raises TimeoutError after ``timeout`` seconds, or the session's error if it ended first.
        """
        await self._wait_until(lambda: any(line.endswith(ending) for line in self.lines), timeout)
        return next(line for line in reversed(self.lines) if line.endswith(ending))

    async def wait_until_in_room(self, timeout: float = TIMEOUT) -> None:
        """Wait until the server has let the user into the room and sent its history, and, for a
        newcomer, until the room has heard of them (a returning user's room hears "est de retour",
        which the returning user is not sent)."""
        await self._wait_until(self._history_arrived, timeout)
        if self.welcome is not None and not self.welcome.returning:
            await self.wait_for(wording.joined(self.welcome.pseudo), timeout)

    def _history_arrived(self) -> bool:
        """Whether the room's HISTORY, which follows ENTERED, has arrived."""
        return self._session is not None and self._session.history is not None

    async def _wait_until(self, condition: Callable[[], bool], timeout: float) -> None:
        """Wait until ``condition()`` holds, checking it each time the session shows something."""
        async with asyncio.timeout(timeout):
            while not condition():
                if self._task is None or self._task.done():
                    raise self.error or RuntimeError(f"{self.pseudo}'s session ended ({self.end})")
                self._changed.clear()
                await self._changed.wait()

    async def leave(self) -> None:
        """End the input, as Ctrl+D would: the client says BYE and waits for the server to close."""
        if self._task is None:
            return
        self._typed.put_nowait(None)
        await asyncio.wait([self._task], timeout=TIMEOUT)
        self._task.cancel()
        await asyncio.wait([self._task], timeout=TIMEOUT)

    def _show(self, line: ChatLine) -> None:
        """What the session calls to display a line: keep it, and wake whoever waits for it."""
        self.chat_lines.append(line)
        self._changed.set()

    async def _read_line(self) -> str | None:
        """What the session calls to read the keyboard: the next typed line, None once leaving."""
        return await self._typed.get()

    def _record_end(self, task: asyncio.Task[SessionEnd]) -> None:
        """Keep how the session ended instead of losing it in a task nobody awaits."""
        key = (name_key(self.pseudo), *self.address)
        if _USERS.get(key) is self:
            del _USERS[key]
        if not task.cancelled():
            self.error = task.exception()
            self.end = None if self.error else task.result()
        self._changed.set()

    def _repr_html_(self) -> str:
        """The screen in Jupyter: HTML, the pseudos in their colors."""
        return screen_html(f"{self.pseudo}'s screen", self.chat_lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """The screen as plain text, for IPython consoles and the notebook's text/plain output."""
        printer.text("\n".join([f"--- {self.pseudo}'s screen ---", *self.lines]))


async def join_chat(pseudo: str, room: str, host: str = DEFAULT_HOST, port: int = 8888) -> ChatUser:
    """Start a user's session and return once they are in the room (a newcomer's arrival announced).

    A user of the same pseudo that this module started on that server leaves first, so that
    running a cell again does not clash with its previous run; the new session presents the
    token the server gave the last one, so the server knows it is the same person.
    """
    key = (name_key(pseudo), host, port)
    previous = _USERS.get(key)
    if previous is not None:
        await previous.leave()
    user = ChatUser(pseudo, room, host, port, token=_TOKENS.get(key, ""))
    user.start()
    _USERS[key] = user
    await user.wait_until_in_room()
    return user


async def stop_all() -> None:
    """End every user, then every server this module started: the notebook's last cell."""
    for user in list(_USERS.values()):
        await user.leave()
    for server in list(_SERVERS.values()):
        await server.stop()


def _css(style: str) -> str:
    """The CSS of a prompt_toolkit style string, as ``chatlib.app.client.display.STYLE`` resolves it."""
    attrs = STYLE.get_attrs_for_style_str(style)
    rules = []
    if re.fullmatch(r"[0-9a-fA-F]{6}", attrs.color):  # not an ANSI color name such as "ansired"
        rules.append(f"color:#{attrs.color}")
    if attrs.bold:
        rules.append("font-weight:bold")
    if attrs.italic:
        rules.append("font-style:italic")
    return ";".join(rules)


def _span(style: str, text: str) -> str:
    """One styled piece of a line as HTML, its text escaped."""
    css = _css(style)
    return f'<span style="{css}">{html.escape(text)}</span>' if css else html.escape(text)


def line_html(line: ChatLine) -> str:
    """One chat line as HTML: the same pieces and styles the terminal client prints."""
    return "".join(_span(style, text) for style, text in fragments(line))


def screen_html(title: str, chat_lines: list[ChatLine]) -> str:
    """A titled block of chat lines, looking like a small terminal."""
    body = "\n".join(line_html(line) for line in chat_lines)
    return (
        '<div style="display:inline-block;vertical-align:top;margin:0 1em 1em 0">'
        f"<b>{html.escape(title)}</b>"
        '<pre style="border:1px solid #888;padding:0.5em;margin:0.2em 0;min-width:28em">'
        f"{body}</pre></div>"
    )


class SideBySide:
    """Several users' screens, next to each other in HTML and one after another as plain text."""

    def __init__(self, users: tuple[ChatUser, ...]) -> None:
        self.users = users

    def _repr_html_(self) -> str:
        """The screens next to each other."""
        return "<div>" + "".join(user._repr_html_() for user in self.users) + "</div>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """The screens one after another, as plain text."""
        for index, user in enumerate(self.users):
            if index:
                printer.break_()
            user._repr_pretty_(printer, cycle)


def side_by_side(*users: ChatUser) -> SideBySide:
    """What each user's screen shows, to display as a cell's result."""
    return SideBySide(users)
