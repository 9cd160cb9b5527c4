"""Logging in: a pseudo accepted by the server (HELLO until WELCOME), then a room (ENTER_ROOM).

Both steps come before the conversation and ask the user one question at a time; a refused
pseudo or room is asked again, or ends the session when there is nobody to ask.
"""

from __future__ import annotations

import asyncio

from chatlib.app.client.display import ChatLine, LineKind
from chatlib.app.client.server_link import ServerLink
from chatlib.app.client.session_io import SessionError, SessionIO, TokenKeeper, UserLeft
from chatlib.app.protocol import (
    MAX_PSEUDO_LENGTH,
    MAX_ROOM_LENGTH,
    Closing,
    EnterRoom,
    Error,
    ErrorCode,
    Hello,
    Ping,
    Pong,
    RoomEntered,
    RoomInfo,
    RoomList,
    ServerFrame,
    Welcome,
    wording,
)

PSEUDO_QUESTION = "Your pseudo: "
ROOM_QUESTION = "Room to join or create: "
RETRY_LOGIN_CODES = (ErrorCode.PSEUDO_TAKEN, ErrorCode.BAD_PSEUDO, ErrorCode.BAD_TOKEN)


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


class Handshake:
    """The steps before the conversation, over an open ``ServerLink``: the pseudo, then the room."""

    def __init__(self, link: ServerLink, io: SessionIO, tokens: TokenKeeper | None = None) -> None:
        self._link = link
        self._io = io
        self._tokens = tokens

    def _notice(self, text: str) -> None:
        self._io.show(ChatLine(LineKind.NOTICE, text))

    def _error(self, text: str) -> None:
        self._io.show(ChatLine(LineKind.ERROR, text))

    async def _ask(self, question: str, refusal: str) -> str:
        """The user's answer to ``question``; with nobody to ask, ``refusal`` ends the session."""
        if self._io.ask is None:
            raise SessionError(refusal)
        while True:
            answer = await self._io.ask(question)
            if answer is None:
                raise UserLeft()
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
        """Send HELLO until the server accepts a pseudo; return its WELCOME.

        ``token`` goes with the first pseudo; without one, the token keeper (if any) supplies
        the token of each pseudo tried, and keeps the token the WELCOME brings.
        """
        while True:
            if pseudo is None:
                pseudo = await self._ask(PSEUDO_QUESTION, "no pseudo given (use --pseudo)")
            if (length := len(pseudo.strip())) > MAX_PSEUDO_LENGTH:  # refused here: too long to encode
                reply: ServerFrame = Error(
                    ErrorCode.BAD_PSEUDO, too_long("pseudo", length, MAX_PSEUDO_LENGTH)
                )
            else:
                if not token and self._tokens is not None:
                    token = await asyncio.to_thread(self._tokens.token_for, pseudo)
                await self._link.send(Hello(pseudo, token))
                reply = await self._reply()
            match reply:
                case Welcome() as welcome:
                    await self._keep_token(welcome)
                    if welcome.returning:
                        self._io.show(ChatLine(LineKind.GREETING, wording.welcome_back(welcome.pseudo)))
                    return welcome
                case Error(code, text) if code in RETRY_LOGIN_CODES:
                    self._error(f"Pseudo refused: {text}")
                    refusal = f"pseudo {pseudo!r} refused: {text}"
                    pseudo, token = None, ""
                    if self._io.ask is None:
                        raise SessionError(refusal)
                case Error(code, text):
                    raise SessionError(f"the server refused us ({code.name}): {text}")
                case other:
                    raise SessionError(f"unexpected {type(other).__name__} frame while logging in")

    async def _keep_token(self, welcome: Welcome) -> None:
        """Keep the WELCOME's token for next time; if that fails, say so and carry on."""
        if self._tokens is None or not welcome.token:
            return
        try:
            await asyncio.to_thread(self._tokens.remember, welcome.pseudo, welcome.token)
        except OSError as error:
            self._error(
                f"Could not save your token ({error.strerror or error}): next time the server "
                f"will not know you are {welcome.pseudo}"
            )

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
