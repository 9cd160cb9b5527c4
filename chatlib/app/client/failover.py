"""A session that follows a cluster: when its server goes away, it carries on with another node.

``chat-client -a HOST:PORT,HOST:PORT`` gives the nodes of a cluster (docs/CLUSTER.md). The
session starts on the first one that answers. When that node goes away (the connection breaks,
or it sends CLOSING), the session connects to the next node, logs in again with the token the
cluster gave it, goes back into its room, says so in one line, and shows what it missed: the
entries of the room's history that came after the last line it had shown.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import replace

from chatlib.app.client.display import HISTORY_END, HISTORY_START, ChatLine, LineKind
from chatlib.app.client.server_link import ServerLink
from chatlib.app.client.session import ChatSession, history_line
from chatlib.app.client.session_io import SessionEnd, SessionError, SessionIO, UserLeft
from chatlib.app.client.tokens import TokenStore
from chatlib.app.protocol import (
    Bye,
    EnterRoom,
    Error,
    Hello,
    History,
    Ping,
    Pong,
    ProtocolError,
    RoomEntered,
    RoomList,
    ServerFrame,
    Welcome,
)
from chatlib.app.protocol.history import BadHistory, HistoryEntry, parse_history

Address = tuple[str, int]
CONVERSATION = frozenset({LineKind.MESSAGE, LineKind.ANNOUNCEMENT, LineKind.IMAGE})


class LastLine:
    """Remembers the last line of the room's conversation the user was shown (not their own)."""

    def __init__(self) -> None:
        self.line: ChatLine | None = None

    def watching(self, io: SessionIO) -> SessionIO:
        """``io`` whose ``show`` also notes each conversation line."""
        show = io.show

        def show_and_note(line: ChatLine) -> None:
            if line.kind in CONVERSATION:
                self.line = line
            show(line)

        return replace(io, show=show_and_note)

    def missed(self, entries: Sequence[HistoryEntry], pseudo: str) -> list[HistoryEntry]:
        """The entries after the last line shown (all of them if it is not there), but one's own messages."""
        lines = [history_line(entry) for entry in entries]
        start = 0
        if self.line is not None and self.line in lines:
            start = len(lines) - lines[::-1].index(self.line)
        return [entry for entry in entries[start:] if not (entry.kind != "announce" and entry.pseudo == pseudo)]


async def open_first(addresses: Sequence[Address], skip: Address | None = None) -> tuple[ServerLink, Address]:
    """A connection to the first node that answers (after ``skip``, trying it last); SessionError if none."""
    order = list(addresses)
    if skip in order:
        at = order.index(skip)
        order = order[at + 1 :] + order[: at + 1]
    reasons = []
    for host, port in order:
        try:
            return await ServerLink.open(host, port), (host, port)
        except OSError as error:
            reasons.append(f"{host}:{port} ({'connection refused' if isinstance(error, ConnectionRefusedError) else error.strerror or error})")
    raise SessionError(f"no node of the cluster answers: {', '.join(reasons)}")


async def next_reply(link: ServerLink) -> ServerFrame:
    """The server's next frame during a quiet re-login, answering PINGs; ConnectionError if it closes."""
    while True:
        frame = await link.receive()
        if frame is None:
            raise ConnectionError("the server closed the connection")
        if isinstance(frame, Ping):
            await link.send(Pong())
            continue
        return frame


async def rejoin(link: ServerLink, pseudo: str, token: str, room: str) -> tuple[Welcome, list[HistoryEntry]]:
    """Log in again with the cluster's token and enter the room, without a question; its history."""
    await link.send(Hello(pseudo, token))
    welcome = await next_reply(link)
    if isinstance(welcome, Error):
        raise SessionError(f"the node refused {pseudo} ({welcome.code.name}): {welcome.text}")
    if not isinstance(welcome, Welcome) or not isinstance(await next_reply(link), RoomList):
        raise SessionError("the node did not answer the login as expected")
    await link.send(EnterRoom(room))
    entered, history = await next_reply(link), await next_reply(link)
    if not isinstance(entered, RoomEntered) or not isinstance(history, History):
        raise SessionError(f"the node did not let {pseudo} back into {room}")
    try:
        entries = list(parse_history(history.entries_json).entries)
    except BadHistory:
        entries = []
    return welcome, entries


async def run_with_failover(
    addresses: Sequence[Address], io: SessionIO, *, pseudo: str | None, room: str | None, tokens: TokenStore
) -> SessionEnd:
    """Chat on the first node that answers; when it goes away, go on with another node of the cluster."""
    last = LastLine()
    watched = last.watching(io)
    link, address = await open_first(addresses)
    session = ChatSession(link, watched, tokens.for_server(*address))
    try:
        try:
            welcome = await session.log_in(pseudo)
            current_room = await session.enter_room(room)
        except UserLeft:
            with contextlib.suppress(ConnectionError):
                await link.send(Bye())
            return SessionEnd.LEFT
        except (ConnectionError, ProtocolError) as error:
            raise SessionError(f"lost the connection before entering a room: {error}") from None
        while True:
            end = await session.converse()
            current_room = session.room or current_room
            await link.close()
            if end is SessionEnd.LEFT:
                return end
            try:
                link, moved_to = await open_first(addresses, skip=address)
                welcome, entries = await rejoin(link, welcome.pseudo, welcome.token, current_room)
            except (SessionError, ConnectionError, ProtocolError) as error:
                io.show(ChatLine(LineKind.ERROR, f"Could not carry on with another node: {error}"))
                return end
            with contextlib.suppress(OSError):
                tokens.remember(*moved_to, welcome.pseudo, welcome.token)
            missed = last.missed(entries, welcome.pseudo)
            io.show(ChatLine(LineKind.NOTICE, f"{address[0]}:{address[1]} went away: now on "
                             f"{moved_to[0]}:{moved_to[1]}, back in room {current_room} "
                             f"({len(missed)} missed)"))
            if missed:
                watched.show(ChatLine(LineKind.HISTORY_MARK, HISTORY_START))
                for entry in missed:
                    watched.show(history_line(entry))
                watched.show(ChatLine(LineKind.HISTORY_MARK, HISTORY_END))
            address = moved_to
            session = ChatSession(link, watched, tokens.for_server(*address))
            session.welcome, session.room = welcome, current_room
    finally:
        await link.close()
