"""Where things live in NATS: the subjects, the JetStream stream and the key-value buckets (pure names).

A subject is a dot-separated address that messages are published to and subscribed from; a
``*`` in a subscription matches one token. Room and user names may hold spaces, dots and any
script, which subjects and keys may not, so they appear in hexadecimal (of their matching key).

| what | where | kind |
|---|---|---|
| a room's live traffic | ``chat.room.<room>`` | core NATS: every node subscribes ``chat.room.*`` |
| a room's history | ``chat.history.<room>`` in the stream ``CHAT_HISTORY`` | JetStream, acknowledged |
| a node's rooms, members and users | ``chat.node.<node>.state`` | core NATS, twice a second |
| "is this user with you?" | ``chat.node.<node>.presence`` | core NATS request/reply |
| the known users | bucket ``chat_users``, key ``u<look key in hex>`` | JetStream key-value |
| who announces a dead node's departures | bucket ``chat_nodes``, key ``gone-<node>`` | JetStream key-value |
"""

from __future__ import annotations

from chatlib.app.protocol.names import look_key, name_key

ROOM_SUBJECTS = "chat.room.*"
HISTORY_SUBJECTS = "chat.history.*"
NODE_STATES = "chat.node.*.state"
HISTORY_STREAM = "CHAT_HISTORY"
USERS_BUCKET = "chat_users"
NODES_BUCKET = "chat_nodes"


def _hex(text: str) -> str:
    return text.encode("utf-8").hex()


def room_token(room: str) -> str:
    """The subject token of a room: its matching key (case and look-alikes folded) in hexadecimal."""
    return _hex(name_key(room))


def room_subject(room: str) -> str:
    """Where a room's live traffic is published (core NATS)."""
    return f"chat.room.{room_token(room)}"


def history_subject(room: str) -> str:
    """Where a room's history is published (captured by the CHAT_HISTORY stream)."""
    return f"chat.history.{room_token(room)}"


def node_state_subject(node: str) -> str:
    """Where a node tells the others which rooms, members and users it has."""
    return f"chat.node.{node}.state"


def node_presence_subject(node: str) -> str:
    """Where a node answers whether a user is connected to it."""
    return f"chat.node.{node}.presence"


def user_key(pseudo: str) -> str:
    """A user's key in the users bucket: pseudos that look alike share it, so only one can own it."""
    return "u" + _hex(look_key(pseudo))


def gone_key(node: str) -> str:
    """The key a node creates to be the one that announces a dead node's departures."""
    return f"gone-{node}"
