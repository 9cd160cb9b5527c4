"""``chat-server --cluster URLS``: a chat server that is one node of a cluster, until Ctrl+C or NATS is lost.

It serves its clients exactly as a standalone server does (same limits, same protocol); only
what it shares goes through NATS. When NATS cannot be reached at start, or is lost for longer
than ``--cluster-patience`` while running, the node says so in one line and stops: its clients
get ``CLOSING`` and can move to another node (``chat-client -a HOST:PORT,HOST:PORT`` does).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from contextlib import suppress
from typing import TYPE_CHECKING

from chatlib.app.cluster.sharing import ClusterSharing, ClusterUnreachable
from chatlib.app.server.chat_server import SHUTDOWN_REASON, ChatServer
from chatlib.app.shared.logfiles import ConversationLog

if TYPE_CHECKING:
    from chatlib.app.server.settings import ServerSettings

logger = logging.getLogger(__name__)

LOST_REASON = "the server lost the cluster"
EXIT_STOPPED = 0
EXIT_FAILED = 1


async def start_node(
    host: str,
    port: int,
    sharing: ClusterSharing,
    conversation: ConversationLog | None = None,
    **server_options: object,
) -> ChatServer:
    """Connect to NATS, then start a ChatServer sharing through it; ClusterUnreachable if NATS is not there.

    ``server_options`` go to ``ChatServer`` (history_length, limits...). A node keeps no data
    folder: its users and history are in NATS.
    """
    await sharing.connect()
    server = ChatServer(conversation, data_dir=None, sharing=sharing, **server_options)  # type: ignore[arg-type]
    try:
        await server.start(host, port)
    except BaseException:
        await sharing.stop()
        raise
    return server


async def run_cluster_node(settings: ServerSettings, conversation: ConversationLog) -> int:
    """Serve as a node of the cluster until SIGINT/SIGTERM (status 0) or NATS is lost (status 1)."""
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):  # Windows: Ctrl+C still arrives as KeyboardInterrupt
            loop.add_signal_handler(signal_number, stop_requested.set)
    sharing = ClusterSharing(settings.cluster, patience=settings.cluster_patience)
    try:
        server = await start_node(
            settings.host, settings.port, sharing, conversation,
            history_length=settings.history_length, limits=settings.limits,
        )
    except ClusterUnreachable as problem:
        print(f"chat-server: {problem}", file=sys.stderr)
        return EXIT_FAILED
    assert server.address is not None
    logger.info(
        "chat server listening on %s:%d, node %s of the cluster at %s (Ctrl+C to stop)",
        *server.address, sharing.node, ", ".join(settings.cluster),
    )
    logger.info("history and known users: in NATS (JetStream)")
    stopping = asyncio.ensure_future(stop_requested.wait())
    lost = asyncio.ensure_future(sharing.lost.wait())
    await asyncio.wait((stopping, lost), return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    lost.cancel()
    if sharing.lost.is_set():
        await server.stop(LOST_REASON)
        print(f"chat-server: left the cluster: {sharing.lost_reason}", file=sys.stderr)
        return EXIT_FAILED
    await server.stop(SHUTDOWN_REASON)
    return EXIT_STOPPED
