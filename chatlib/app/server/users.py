"""The users a server knows: a unique ID, a pseudo, a color and a secret token each.

A user's first HELLO makes them known and gives them a token; presenting that token later
proves it is them again, from any address and port. The server keeps only a hash of each
token, compares hashes in constant time, and never logs a token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from chatlib.app.protocol.names import look_key, name_key

logger = logging.getLogger(__name__)

TOKEN_BYTES = 24  # 192 random bits, 32 characters once encoded


def hash_token(token: str) -> str:
    """The form a token is kept in: its SHA-256, in hex (the token itself is never stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class KnownUser:
    """Someone the server has met: their identity, and whether they are connected right now."""

    user_id: str
    pseudo: str
    color: str
    token_hash: str
    first_seen_ms: int
    connected: bool = False

    def token_matches(self, token: str) -> bool:
        """Whether ``token`` is this user's, compared in constant time."""
        return hmac.compare_digest(self.token_hash, hash_token(token))

    def to_record(self) -> dict[str, Any]:
        """The user as a JSON object for the users file (``connected`` is not saved)."""
        return {
            "user_id": self.user_id,
            "pseudo": self.pseudo,
            "color": self.color,
            "token_sha256": self.token_hash,
            "first_seen_ms": self.first_seen_ms,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> KnownUser:
        """A user read back from the users file; ValueError if the record is not one."""
        try:
            user = cls(
                user_id=str(record["user_id"]),
                pseudo=str(record["pseudo"]),
                color=str(record["color"]),
                token_hash=str(record["token_sha256"]),
                first_seen_ms=int(record["first_seen_ms"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a user record: {error}") from None
        return user


class Verdict(Enum):
    """What the server makes of a HELLO's pseudo and token."""

    NEW = "new"  # nobody has this pseudo: a new user
    RETURNING = "returning"  # the right token for a known pseudo whose owner is away
    IN_USE = "in use"  # the owner of this pseudo is connected now
    TOKEN_MISSING = "token missing"  # a known pseudo, asked for without a token
    TOKEN_WRONG = "token wrong"  # a known pseudo, asked for with someone else's token


class KnownUsers:
    """Every user ever met, found by pseudo ignoring case and look-alike characters; connected or away.

    A pseudo belongs to the user whose pseudo has the same ``name_key`` or, failing that, the
    same ``look_key`` (see protocol/names.py): ``BOB``, ``Воb`` and ``AIice`` find ``bob`` and
    ``Alice``. Both are dictionaries: finding a user costs the same with a million users.
    """

    def __init__(self, users: Iterable[KnownUser] = ()) -> None:
        self._by_pseudo: dict[str, KnownUser] = {}
        self._by_look: dict[str, KnownUser] = {}
        self._ids: set[str] = set()
        self._colors_in_use: Counter[str] = Counter()  # of the users connected now
        for user in users:
            self._add(user)

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> KnownUsers:
        """The users of a users file; bad records are skipped, and a pseudo's first owner wins.

        The keys are computed afresh from each pseudo, so a file written under older name rules
        loads as it is: of two users whose pseudos now look alike, the first one keeps it.
        """
        known = cls()
        for record in records:
            try:
                user = KnownUser.from_record(record)
            except ValueError as error:
                logger.warning("skipping a user record: %s", error)
                continue
            owner = known.find(user.pseudo)
            if owner is None:
                known._add(user)
            else:
                logger.warning(
                    "skipping user %s: the pseudo %r looks like %r, user %s's",
                    user.user_id,
                    user.pseudo,
                    owner.pseudo,
                    owner.user_id,
                )
        return known

    def _add(self, user: KnownUser) -> None:
        self._by_pseudo[name_key(user.pseudo)] = user
        self._by_look.setdefault(look_key(user.pseudo), user)
        self._ids.add(user.user_id)

    def find(self, pseudo: str) -> KnownUser | None:
        """The user whose pseudo is this one or looks like it (ignoring case), if any."""
        return self._by_pseudo.get(name_key(pseudo)) or self._by_look.get(look_key(pseudo))

    def judge(self, pseudo: str, token: str) -> tuple[Verdict, KnownUser | None]:
        """Whether a HELLO with this pseudo and token is a new user, a returning one, or refused."""
        user = self.find(pseudo)
        if user is None:
            return Verdict.NEW, None
        if user.connected:
            return Verdict.IN_USE, user
        if not token:
            return Verdict.TOKEN_MISSING, user
        if not user.token_matches(token):
            return Verdict.TOKEN_WRONG, user
        return Verdict.RETURNING, user

    def register(self, pseudo: str, color: str, now_ms: int) -> tuple[KnownUser, str]:
        """Make a new user known; return them and their token (to send once, never to keep)."""
        if self.find(pseudo) is not None:
            raise ValueError(f"the pseudo {pseudo} is already known")
        user_id = secrets.token_hex(8)
        while user_id in self._ids:
            user_id = secrets.token_hex(8)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        user = KnownUser(user_id, pseudo, color, hash_token(token), now_ms)
        self._add(user)
        return user, token

    def connect(self, user: KnownUser) -> None:
        """Mark a user connected (sent what their room hears) and count their color in use."""
        if not user.connected:
            user.connected = True
            self._colors_in_use[user.color] += 1

    def disconnect(self, user: KnownUser) -> None:
        """Mark a user away (known still, sent nothing until back)."""
        if user.connected:
            user.connected = False
            self._colors_in_use[user.color] -= 1

    def colors_in_use(self) -> Counter[str]:
        """How many connected users have each color, kept up to date by ``connect`` and ``disconnect``:
        picking a new user's color costs the same with a million known users."""
        return self._colors_in_use

    def connected_colors(self) -> Iterator[str]:
        """The colors of the users connected now, found by looking at every known user (slow with
        many: the server uses ``colors_in_use``)."""
        return (user.color for user in self._by_pseudo.values() if user.connected)

    def __iter__(self) -> Iterator[KnownUser]:
        return iter(self._by_pseudo.values())

    def __len__(self) -> int:
        return len(self._by_pseudo)
