"""A chat session, without any user interface: log in, enter a room, then chat until it ends.

The steps follow the spec: the pseudo and the room are settled first, one question at a time
(``ask``), and only then do two tasks run side by side, one sending what the user types
(``read_line``), one showing what the server sends (``show``). A terminal, a pipe, a notebook
or a test supplies those three callables in a ``SessionIO``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

from chatlib.app import wording
from chatlib.app.commands import (
    BadCommand,
    JoinRoom,
    Nothing,
    Quit,
    SendText,
    ShowHelp,
    help_lines,
    parse_input,
)
from chatlib.app.display import ChatLine, LineKind, now_ms
from chatlib.app.protocol import (
    MAX_PSEUDO_LENGTH,
    MAX_ROOM_LENGTH,
    MAX_TEXT_BYTES,
    Announcement,
    Bye,
    Closing,
    EnterRoom,
    Error,
    ErrorCode,
    Hello,
    History,
    ImageFrom,
    Message,
    Ping,
    Pong,
    ProtocolError,
    RoomEntered,
    RoomInfo,
    RoomList,
    Say,
    ServerFrame,
    Welcome,
)
from chatlib.app.server_link import ServerLink

PSEUDO_QUESTION = "Your pseudo: "
ROOM_QUESTION = "Room to join or create: "
GOODBYE_TIMEOUT = 2.0  # seconds to wait for the server to close after our BYE

ReadLine = Callable[[], Awaitable[str | None]]
Ask = Callable[[str], Awaitable[str | None]]
Show = Callable[[ChatLine], None]


@dataclass(frozen=True)
class SessionIO:
    """How a session talks to its user.

    ``read_line`` returns the next line typed (None when input ends), ``show`` displays a line,
    ``ask`` puts a question and returns the answer (None when input ends); ``ask`` is None when
    there is nobody to ask, as in scripted mode, where a refused pseudo or room ends the session.
    """

    show: Show
    read_line: ReadLine
    ask: Ask | None = None


class SessionEnd(Enum):
    """How a session ended; only LEFT is a success."""

    LEFT = "left"  # the user quit, or their input ended
    SERVER_CLOSED = "server closed"  # the server said CLOSING or closed the connection
    CONNECTION_LOST = "connection lost"  # the connection broke, or the server sent garbage


class SessionError(Exception):
    """The session could not start: no connection, or a pseudo or room refused with nobody to ask."""


class _UserLeft(Exception):
    """The user ended their input while being asked a question."""


def too_long(what: str, length: int, most: int) -> str:
    """Why a name is refused before it is even sent (worded like the server's refusals)."""
    return f"the {what} is {length} characters long; the most is {most}"


def room_list_lines(rooms: tuple[RoomInfo, ...]) -> list[str]:
    """The notice lines presenting the server's rooms."""
    if not rooms:
        return ["No rooms yet: name one to create it."]
    listed = [
        f"  {room.name} ({room.members} {'member' if room.members == 1 else 'members'})" for room in rooms
    ]
    return ["Rooms on this server:", *listed, "Name one to join it, or a new name to create it."]


class ChatSession:
    """One user's session over an open ``ServerLink``: the handshake, then the conversation."""

    def __init__(self, link: ServerLink, io: SessionIO) -> None:
        self._link = link
        self._io = io
        self._leaving = False
        self.welcome: Welcome | None = None
        self.room: str | None = None

    def _notice(self, text: str, time_ms: int | None = None) -> None:
        self._io.show(ChatLine(LineKind.NOTICE, text, time_ms))

    def _error(self, text: str) -> None:
        self._io.show(ChatLine(LineKind.ERROR, text))

    async def _ask(self, question: str, refusal: str) -> str:
        """The user's answer to ``question``; with nobody to ask, ``refusal`` ends the session."""
        if self._io.ask is None:
            raise SessionError(refusal)
        while True:
            answer = await self._io.ask(question)
            if answer is None:
                raise _UserLeft()
            if answer.strip():
                return answer.strip()

    async def _reply(self) -> ServerFrame:
        """The server's next answer during the handshake, answering its PINGs on the way."""
        while True:
            frame = await self._link.receive()
            match frame:
                case None:
                    raise SessionError("the server closed the connection")
                case Ping():
                    await self._link.send(Pong())
                case Closing(reason):
                    raise SessionError(f"the server is closing: {reason}")
                case _:
                    return frame

    async def log_in(self, pseudo: str | None, token: str = "") -> Welcome:
        """Send HELLO until the server accepts a pseudo; return its WELCOME."""
        while True:
            if pseudo is None:
                pseudo = await self._ask(PSEUDO_QUESTION, "no pseudo given (use --pseudo)")
            if (length := len(pseudo.strip())) > MAX_PSEUDO_LENGTH:  # refused here: too long to encode
                reply: ServerFrame = Error(
                    ErrorCode.BAD_PSEUDO, too_long("pseudo", length, MAX_PSEUDO_LENGTH)
                )
            else:
                await self._link.send(Hello(pseudo, token))
                reply = await self._reply()
            match reply:
                case Welcome() as welcome:
                    self.welcome = welcome
                    if welcome.returning:
                        self._notice(wording.welcome_back(welcome.pseudo))
                    return welcome
                case Error(ErrorCode.PSEUDO_TAKEN | ErrorCode.BAD_PSEUDO, text):
                    self._error(f"Pseudo refused: {text}")
                    refusal = f"pseudo {pseudo!r} refused: {text}"
                    pseudo = None
                    if self._io.ask is None:
                        raise SessionError(refusal)
                case Error(code, text):
                    raise SessionError(f"the server refused us ({code.name}): {text}")
                case other:
                    raise SessionError(f"unexpected {type(other).__name__} frame while logging in")

    async def enter_room(self, room: str | None) -> str:
        """Show the server's rooms, then send ENTER_ROOM until the server accepts a name."""
        rooms = await self._reply()
        if not isinstance(rooms, RoomList):
            raise SessionError(f"expected the list of rooms, got a {type(rooms).__name__} frame")
        for line in room_list_lines(rooms.rooms):
            self._notice(line)
        while True:
            if room is None:
                room = await self._ask(ROOM_QUESTION, "no room given (use --room)")
            if (length := len(room.strip())) > MAX_ROOM_LENGTH:
                reply: ServerFrame = Error(ErrorCode.BAD_ROOM, too_long("room name", length, MAX_ROOM_LENGTH))
            else:
                await self._link.send(EnterRoom(room))
                reply = await self._reply()
            match reply:
                case RoomEntered(entered):
                    self.room = entered
                    self._notice(f"You are in room {entered}. Type /help for the commands.")
                    return entered
                case Error(ErrorCode.BAD_ROOM, text):
                    self._error(f"Room refused: {text}")
                    refusal = f"room {room!r} refused: {text}"
                    room = None
                    if self._io.ask is None:
                        raise SessionError(refusal)
                case Error(code, text):
                    raise SessionError(f"the server refused us ({code.name}): {text}")
                case other:
                    raise SessionError(f"unexpected {type(other).__name__} frame while entering a room")

    async def converse(self) -> SessionEnd:
        """Send what the user types and show what arrives, until one side ends the session."""
        receiver = asyncio.create_task(self._receive_loop(), name="receive frames")
        sender = asyncio.create_task(self._send_loop(), name="send typed lines")
        try:
            await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_COMPLETED)
            if receiver.done():
                return receiver.result()
            if isinstance(sender.exception(), ConnectionError):
                self._error(f"Connection lost: {sender.exception()}")
                return SessionEnd.CONNECTION_LOST
            sender.result()  # a bug in the loop: let it show
            return await self._say_goodbye(receiver)
        finally:
            for task in (receiver, sender):
                task.cancel()
            await asyncio.gather(receiver, sender, return_exceptions=True)

    async def _say_goodbye(self, receiver: asyncio.Task[SessionEnd]) -> SessionEnd:
        """Send BYE, then keep showing what arrives until the server closes (or a short timeout)."""
        self._leaving = True
        try:
            await self._link.send(Bye())
            self._link.finish_sending()
            async with asyncio.timeout(GOODBYE_TIMEOUT):
                await asyncio.shield(receiver)
        except (ConnectionError, TimeoutError):
            pass
        return SessionEnd.LEFT

    async def _send_loop(self) -> None:
        """Turn each typed line into a message or a command, until /quit or the end of input."""
        while (line := await self._io.read_line()) is not None:
            match parse_input(line):
                case SendText(text):
                    await self._say(text)
                case ShowHelp():
                    for help_line in help_lines():
                        self._notice(help_line)
                case JoinRoom(room) if len(room) > MAX_ROOM_LENGTH:
                    self._error(f"Room refused: {too_long('room name', len(room), MAX_ROOM_LENGTH)}")
                case JoinRoom(room):
                    await self._link.send(EnterRoom(room))
                case BadCommand(problem):
                    self._error(problem)
                case Quit():
                    return
                case Nothing():
                    pass

    async def _say(self, text: str) -> None:
        """Send a message to the room and show it as the user's own."""
        size = len(text.encode("utf-8", errors="replace"))
        if size > MAX_TEXT_BYTES:
            self._error(f"Message not sent: {size} bytes, the limit is {MAX_TEXT_BYTES}")
            return
        await self._link.send(Say(text))
        self._io.show(ChatLine(LineKind.OWN_MESSAGE, text, now_ms()))

    async def _receive_loop(self) -> SessionEnd:
        """Show every frame the server sends, until it closes or the connection fails."""
        while True:
            try:
                frame = await self._link.receive()
            except ConnectionError as lost:
                self._error(f"Connection lost: {lost}")
                return SessionEnd.CONNECTION_LOST
            except ProtocolError as error:
                self._error(f"The server sent something unreadable ({error.code.name}): {error.message}")
                return SessionEnd.CONNECTION_LOST
            if frame is None:
                if self._leaving:
                    return SessionEnd.LEFT
                self._io.show(ChatLine(LineKind.CLOSING, "The server closed the connection."))
                return SessionEnd.SERVER_CLOSED
            if isinstance(frame, Closing):
                self._io.show(ChatLine(LineKind.CLOSING, f"The server is closing: {frame.reason}"))
                return SessionEnd.SERVER_CLOSED
            try:
                await self._handle(frame)
            except ConnectionError as lost:
                self._error(f"Connection lost: {lost}")
                return SessionEnd.CONNECTION_LOST

    async def _handle(self, frame: ServerFrame) -> None:
        """Show one frame received during the conversation, or answer it."""
        match frame:
            case Message(time_ms, pseudo, color, text):
                self._io.show(ChatLine(LineKind.MESSAGE, text, time_ms, pseudo, color))
            case Announcement(time_ms, text):
                self._io.show(ChatLine(LineKind.ANNOUNCEMENT, text, time_ms))
            case Error(code, text):
                self._error(f"{text} ({code.name})")
            case RoomEntered(room):
                self.room = room
                self._notice(f"You are now in room {room}.")
            case Ping():
                await self._link.send(Pong())
            case ImageFrom(time_ms, pseudo, _color, data):
                self._notice(
                    f"{pseudo} sent an image ({len(data)} bytes); this client cannot show it yet", time_ms
                )
            case History():
                pass  # issue 5 shows the history apart from the live messages
            case Welcome() | RoomList():
                pass  # only expected during the handshake


async def run_session(
    host: str,
    port: int,
    io: SessionIO,
    *,
    pseudo: str | None = None,
    room: str | None = None,
    token: str = "",
) -> SessionEnd:
    """Connect to the server at host:port, log in, enter a room and chat until the session ends.

    Raises SessionError when it cannot connect, or when the pseudo or room is refused and
    there is nobody to ask for another.
    """
    try:
        link = await ServerLink.open(host, port)
    except OSError as error:
        reason = (
            "connection refused"
            if isinstance(error, ConnectionRefusedError)
            else error.strerror or str(error)
        )
        raise SessionError(f"cannot connect to {host}:{port}: {reason}") from None
    session = ChatSession(link, io)
    try:
        try:
            await session.log_in(pseudo, token)
            await session.enter_room(room)
        except _UserLeft:
            with contextlib.suppress(ConnectionError):
                await link.send(Bye())
            return SessionEnd.LEFT
        except (ConnectionError, ProtocolError) as error:
            raise SessionError(f"lost the connection before entering a room: {error}") from None
        return await session.converse()
    finally:
        await link.close()
