"""Known users shared by every node: a JetStream key-value bucket, and each node's copy of those it met.

The bucket holds one record per user, under a key made from the pseudo (pseudos that look
alike share a key). A new pseudo is claimed with ``create``, which JetStream performs only if
the key does not exist yet: when two nodes claim the same pseudo at the same moment, exactly
one create succeeds, and the other node learns who won. Records never change afterwards, so
a node keeps those it has read (``ClusterUsers``), with whether each is connected *here*.
"""

from __future__ import annotations

import secrets

import nats.js.errors
import orjson
from nats.js.kv import KeyValue

from chatlib.app.cluster.patience import patiently
from chatlib.app.cluster.subjects import user_key
from chatlib.app.server.users import TOKEN_BYTES, KnownUser, KnownUsers, hash_token


class ClusterUsers(KnownUsers):
    """The users this node has read from the bucket or created in it (connected here or away)."""

    def add(self, user: KnownUser) -> KnownUser:
        """Keep a user read from the bucket; if this pseudo is already kept, the one kept."""
        kept = self.find(user.pseudo)
        if kept is not None:
            return kept
        self._add(user)
        return user


def new_user(pseudo: str, color: str, now_ms: int) -> tuple[KnownUser, str]:
    """A new user (not stored anywhere yet) and their token, sent once and never kept."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return KnownUser(secrets.token_hex(8), pseudo, color, hash_token(token), now_ms), token


class UserBucket:
    """The users' key-value bucket: look a pseudo up, or claim it for a new user."""

    def __init__(self, bucket: KeyValue, patience: float) -> None:
        self._bucket = bucket
        self._patience = patience

    async def find(self, pseudo: str) -> KnownUser | None:
        """The user owning this pseudo (or one that looks like it) in the cluster, if any."""
        try:
            entry = await patiently(lambda: self._bucket.get(user_key(pseudo)), self._patience)
        except nats.js.errors.KeyNotFoundError:
            return None
        return KnownUser.from_record(orjson.loads(entry.value or b"{}"))

    async def claim(self, user: KnownUser) -> bool:
        """Store a new user unless its pseudo is taken; True if this node won it."""
        record = orjson.dumps(user.to_record())
        try:
            await patiently(lambda: self._bucket.create(user_key(user.pseudo), record), self._patience)
        except nats.js.errors.KeyWrongLastSequenceError:
            owner = await self.find(user.pseudo)  # our own first try may have won, its answer lost
            return owner is not None and owner.user_id == user.user_id
        return True
