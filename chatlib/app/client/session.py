"""A chat session, without any user interface: log in, enter a room, then chat until it ends.

The steps follow the spec: the pseudo and the room are settled first, one question at a time
(``ask``), and only then do two tasks run side by side, one sending what the user types
(``read_line``), one showing what the server sends (``show``). A terminal, a pipe, a notebook
or a test supplies those three callables in a ``SessionIO``.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from chatlib.app.client.commands import (
    BadCommand,
    JoinRoom,
    Nothing,
    Quit,
    SendImageFile,
    SendText,
    ShowHelp,
    help_lines,
    parse_input,
)
from chatlib.app.client.display import HISTORY_END, HISTORY_START, ChatLine, LineKind, now_ms
from chatlib.app.client.handshake import Handshake, too_long
from chatlib.app.client.pictures import PictureDrawer
from chatlib.app.client.server_link import ServerLink
from chatlib.app.client.server_pins import ClientTls
from chatlib.app.client.session_io import (
    SessionEnd,
    SessionError,
    SessionIO,
    TokenKeeper,
    UserLeft,
)
from chatlib.app.protocol import (
    MAX_ROOM_LENGTH,
    MAX_TEXT_BYTES,
    Announcement,
    Bye,
    Closing,
    EnterRoom,
    Error,
    ErrorCode,
    History,
    ImageFrom,
    Message,
    Ping,
    Pong,
    ProtocolError,
    RoomEntered,
    RoomList,
    Say,
    SendImage,
    ServerFrame,
    Welcome,
)
from chatlib.app.protocol.history import BadHistory, HistoryEntry, RoomHistory, parse_history
from chatlib.app.shared.image_worker import ImageWorker
from chatlib.app.shared.images import BadImage, check_and_render, read_image_file

GOODBYE_TIMEOUT = 2.0  # seconds to wait for the server to close after our BYE
PICTURES_GRACE = 2.0  # seconds, at the end, to finish drawing the images received last
HISTORY_WAIT = 2.0  # seconds typed lines wait for the room's history, which the server sends first


class ChatSession:
    """One user's session over an open ``ServerLink``: the handshake, then the conversation."""

    def __init__(self, link: ServerLink, io: SessionIO, tokens: TokenKeeper | None = None) -> None:
        self._link = link
        self._io = io
        self._handshake = Handshake(link, io, tokens)
        self._leaving = False
        self._pictures = PictureDrawer(self._show_image)  # received images, drawn beside the conversation
        self.welcome: Welcome | None = None
        self.room: str | None = None
        self.history: RoomHistory | None = None  # the last room's history, once it has arrived
        self._history_arrived = asyncio.Event()

    def _notice(self, text: str) -> None:
        self._io.show(ChatLine(LineKind.NOTICE, text))

    def _error(self, text: str) -> None:
        self._io.show(ChatLine(LineKind.ERROR, text))

    async def log_in(self, pseudo: str | None, token: str = "") -> Welcome:
        """Send HELLO until the server accepts a pseudo (see ``Handshake.log_in``); return its WELCOME."""
        self.welcome = await self._handshake.log_in(pseudo, token)
        if self._io.logged_in is not None:
            self._io.logged_in(self.welcome.pseudo)
        return self.welcome

    async def enter_room(self, room: str | None) -> str:
        """Show the server's rooms, then send ENTER_ROOM until the server accepts a name."""
        self.room = await self._handshake.enter_room(room)
        return self.room

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
            await self._pictures.close(PICTURES_GRACE)

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
        """Turn each typed line into a message or a command, until /quit or the end of input.

        The room's history is shown first, so that what the user says comes after it on screen.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(HISTORY_WAIT):
                await self._history_arrived.wait()
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
                case SendImageFile(path):
                    await self._send_image(Path(path).expanduser())
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

    async def _send_image(self, path: Path) -> None:
        """Check an image file (in a thread: it decodes the image) and send it, or say why not."""
        try:
            data, facts = await asyncio.to_thread(read_image_file, path)
        except BadImage as reason:
            self._error(f"Image not sent: {reason}")
            return
        await self._link.send(SendImage(data))
        self._notice(f"Image sent ({facts.format} {facts.width}×{facts.height}, {facts.size} bytes)")

    async def _show_image(self, frame: ImageFrom, images: ImageWorker) -> None:
        """Show who sent an image, then the image drawn in characters (decoded once, in the image
        worker's process: the conversation goes on meanwhile, see pictures.py)."""
        columns = max(1, self._io.picture_columns())
        try:
            facts, art = await images.run(
                check_and_render, frame.data, columns, monochrome=not self._io.colored_pictures
            )
        except BadImage as reason:
            self._error(f"{frame.pseudo} sent an image that cannot be shown: {reason}")
            return
        self._io.show(ChatLine(LineKind.IMAGE, facts.placeholder(), frame.time_ms, frame.pseudo, frame.color))
        self._io.show(ChatLine(LineKind.PICTURE, art))

    def _show_history(self, payload: str) -> None:
        """Show a room's history between two marks, each entry with its own time (and color)."""
        self._history_arrived.set()
        try:
            history = parse_history(payload)
        except BadHistory as problem:
            self._error(f"The server sent a history that cannot be shown: {problem}")
            self.history = RoomHistory(self.room or "", ())  # arrived, though there is nothing to show
            return
        self.history = history
        if not history.entries:
            return
        self._io.show(ChatLine(LineKind.HISTORY_MARK, HISTORY_START))
        for entry in history.entries:
            self._io.show(history_line(entry))
        self._io.show(ChatLine(LineKind.HISTORY_MARK, HISTORY_END))

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
            case Error(ErrorCode.BAD_IMAGE, text):
                self._error(f"Image refused by the server: {text}")
            case Error(code, text):
                self._error(f"{text} ({code.name})")
            case RoomEntered(room):
                self.room = room
                self._notice(f"You are now in room {room}.")
            case Ping():
                await self._link.send(Pong())
            case ImageFrom() as image:
                if not self._pictures.add(image):
                    self._error(f"{image.pseudo} sent an image, not shown: too many images at once")
            case History(entries_json):
                self._show_history(entries_json)
            case Welcome() | RoomList():
                pass  # only expected during the handshake


def history_line(entry: HistoryEntry) -> ChatLine:
    """How one entry of a room's history is shown: as it was shown live, at its original time."""
    match entry.kind:
        case "message":
            return ChatLine(LineKind.MESSAGE, entry.text, entry.time_ms, entry.pseudo, entry.color)
        case "image":
            return ChatLine(LineKind.IMAGE, entry.text, entry.time_ms, entry.pseudo, entry.color)
        case _:
            return ChatLine(LineKind.ANNOUNCEMENT, entry.text, entry.time_ms)


async def run_session(
    host: str,
    port: int,
    io: SessionIO,
    *,
    pseudo: str | None = None,
    room: str | None = None,
    token: str = "",
    tokens: TokenKeeper | None = None,
    tls: ClientTls | None = None,
) -> SessionEnd:
    """Connect to the server at host:port, log in, enter a room and chat until the session ends.

    ``tokens`` keeps the token the server gives each pseudo and presents it next time, so that
    the server recognises a returning user (``token`` presents one given by hand instead).
    With ``tls`` the connection is encrypted and the server proves who it is before anything is
    sent (``server_pins.ServerIdentityError`` if it cannot).

    Raises SessionError when it cannot connect, or when the pseudo or room is refused and
    there is nobody to ask for another.
    """
    try:
        link = await ServerLink.open(host, port, tls)
    except OSError as error:
        reason = (
            "connection refused"
            if isinstance(error, ConnectionRefusedError)
            else error.strerror or str(error)
        )
        raise SessionError(f"cannot connect to {host}:{port}: {reason}") from None
    session = ChatSession(link, io, tokens)
    try:
        try:
            await session.log_in(pseudo, token)
            await session.enter_room(room)
        except UserLeft:
            with contextlib.suppress(ConnectionError):
                await link.send(Bye())
            return SessionEnd.LEFT
        except (ConnectionError, ProtocolError) as error:
            raise SessionError(f"lost the connection before entering a room: {error}") from None
        return await session.converse()
    finally:
        await link.close()
