"""The handshake: a HELLO's pseudo is accepted (WELCOME, then the room list) or refused with a reason.

A new pseudo makes a new known user, whose token goes out once, in the WELCOME. A known pseudo
needs its owner's token: then it is that user coming back, from wherever. Known users are kept
forever, so making new ones is bounded: so many from one IP address an hour, so many in all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from chatlib.app.protocol import (
    MAX_PSEUDO_LENGTH,
    Error,
    ErrorCode,
    MessageEncoder,
    ProtocolError,
    RoomList,
    Welcome,
)
from chatlib.app.protocol.names import BadName, clean_name
from chatlib.app.server.colors import pick_color
from chatlib.app.server.connection import Connection
from chatlib.app.server.limits import ServerLimits
from chatlib.app.server.persistence import ServerStore
from chatlib.app.server.ratelimit import AddressAllowance
from chatlib.app.server.rooms import RoomRegistry
from chatlib.app.server.sharing import StandAlone
from chatlib.app.server.users import Verdict

logger = logging.getLogger(__name__)


class Lobby:
    """Where a connection waits until its pseudo is accepted."""

    def __init__(
        self,
        store: ServerStore,
        rooms: RoomRegistry[Connection],
        clock: Callable[[], int],
        choose_color: Callable[[Sequence[str]], str],
        sharing: StandAlone | None = None,
        limits: ServerLimits | None = None,
    ) -> None:
        self._store = store
        self._sharing = sharing or StandAlone()  # a cluster node asks the others too
        self._rooms = rooms
        self._clock = clock
        self._choose_color = choose_color
        self._limits = limits or ServerLimits()
        rate = self._limits.registration_rate
        self._registrations = None if rate is None else AddressAllowance(rate)

    async def greet(self, connection: Connection, wanted_pseudo: str, token: str) -> None:
        """Accept a pseudo (WELCOME then ROOMS), or tell the client why not so it can try again."""
        try:
            pseudo = clean_name(wanted_pseudo, MAX_PSEUDO_LENGTH, "pseudo")
        except BadName as reason:
            connection.send_frame(Error(ErrorCode.BAD_PSEUDO, str(reason)))
            return
        users = self._store.users
        if users.find(pseudo) is None:
            self._check_registration(connection)  # a pseudo nobody has would make a new user

        def new_color() -> str:
            return pick_color(users.colors_in_use(), self._choose_color)

        verdict, user, token = await self._sharing.admit(users, pseudo, token, new_color, self._clock())
        if connection.leaving:  # it went away while a cluster node asked the others
            return
        match verdict:
            case Verdict.IN_USE:
                connection.send_frame(Error(ErrorCode.PSEUDO_TAKEN, f"the pseudo {pseudo} is already in use"))
                return
            case Verdict.TOKEN_MISSING:
                connection.send_frame(
                    Error(ErrorCode.PSEUDO_TAKEN, f"the pseudo {pseudo} belongs to another user")
                )
                return
            case Verdict.TOKEN_WRONG:
                connection.send_frame(Error(ErrorCode.BAD_TOKEN, f"wrong token for the pseudo {pseudo}"))
                return
            case Verdict.NEW:
                self._store.user_registered(user)
            case Verdict.RETURNING:
                connection.returning = True
        assert user is not None
        users.connect(user)
        connection.user = user
        connection.pseudo = user.pseudo
        connection.said = MessageEncoder(user.pseudo, user.color)
        connection.send_frame(Welcome(user.user_id, user.pseudo, user.color, token, connection.returning))
        connection.send_frame(RoomList(self._sharing.room_listing(self._rooms.listing())))
        logger.info(
            "%s is %s%s", connection.address, user.pseudo, " (returning)" if connection.returning else ""
        )
        verb = "came back" if connection.returning else "arrived"
        self._store.log(f"{user.pseudo} {verb} ({connection.address})")

    def _check_registration(self, connection: Connection) -> None:
        """ProtocolError (the connection closes) if a new user may not be registered now."""
        limits = self._limits
        if len(self._store.users) >= limits.max_known_users:
            raise ProtocolError(
                ErrorCode.SERVER_FULL,
                f"the server knows {limits.max_known_users} users, the most it keeps, and registers no "
                "new pseudo (known users can still come back with their token)",
            )
        if self._registrations is not None and not self._registrations.take(connection.ip):
            rate = self._registrations.allowance
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"too many new pseudos from {connection.ip} (at most {rate.burst}, then "
                f"{rate.per_second * 3600:g} an hour); come back as a user you already are, or later",
            )
