"""The chat server: ``ChatServer`` (chat_server.py) and the parts it puts together.

A connection is let in by ``admission``, read by ``dispatch`` (bytes to frames to actions),
greeted by the ``lobby`` (pseudo, token, color), and then lives in a room: ``relay`` handles
entering, leaving and speaking, ``broadcast`` joins a loop turn's messages per member, and each
member's ``outbox`` writes them, bounded for slow readers. ``liveness`` pings the silent,
``ratelimit`` and ``limits`` bound what one client may cost, and ``persistence`` (with
``storage``, ``users``, ``history``) keeps users and history on disk. ``main`` is ``chat-server``.
"""

from chatlib.app.server.chat_server import ChatServer

__all__ = ["ChatServer"]
