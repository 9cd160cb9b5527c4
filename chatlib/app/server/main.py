"""``chat-server``: read the settings, open the logs and data folder, serve until Ctrl+C or SIGTERM.

Exit status: 0 once stopped by Ctrl+C or SIGTERM, 1 when it cannot start (the address is in use,
the data folder or a data file in it cannot be used), 2 for bad options or settings.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import ssl
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path

from chatlib.app.server.chat_server import SHUTDOWN_REASON, ChatServer
from chatlib.app.server.history import DEFAULT_HISTORY_LENGTH
from chatlib.app.server.limits import ServerLimits
from chatlib.app.server.settings import server_settings
from chatlib.app.server.storage import DataFileError, default_data_dir, prepare_data_dir
from chatlib.app.server.tls import TlsSetupError, file_fingerprint, make_cert_command, server_context
from chatlib.app.shared.logfiles import (
    ConversationLog,
    choose_log_dir,
    close_conversation_log,
    conversation_log,
)

logger = logging.getLogger(__name__)
CHAT_LOGGER = "chatlib"  # the parent of every logger of the chat's own modules
YOUNG_OBJECTS_PER_COLLECTION = 20_000  # Python's default: 700


def collect_garbage_less_often() -> None:
    """Run the cycle collector after 20,000 new objects instead of 700 (and the older generations
    half as often): a busy server makes and drops tens of thousands of small objects a second,
    reference counting frees nearly all of them, and collecting less often cuts window-50's
    median latency by a fifth (docs/BENCHMARK.md). For the ``chat-server`` process only: a
    notebook that runs a ``ChatServer`` keeps its own settings."""
    gc.set_threshold(YOUNG_OBJECTS_PER_COLLECTION, 20, 20)


def allow_open_files(wanted: int) -> None:
    """Raise this process's open-file limit towards ``wanted`` (one per connection), if the system lets us."""
    try:
        import resource
    except ImportError:  # Windows has no such limit to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def run_server(
    host: str,
    port: int,
    conversation: ConversationLog,
    data_dir: Path | None = None,
    history_length: int = DEFAULT_HISTORY_LENGTH,
    limits: ServerLimits | None = None,
    web_port: int | None = None,
    web_origins: Sequence[str] = (),
    tls: ssl.SSLContext | None = None,
) -> None:
    """Serve until SIGINT (Ctrl+C) or SIGTERM, then close every connection cleanly and save.

    With ``web_port``, the chat's web page is served there too (chatlib.app.web). With ``tls``
    (``tls.server_context``), the TCP port speaks TLS, and the web page is served over HTTPS.
    """
    limits = limits or ServerLimits()
    allow_open_files(limits.max_connections + 64)
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):  # Windows: Ctrl+C still arrives as KeyboardInterrupt
            loop.add_signal_handler(signal_number, stop_requested.set)
    server = ChatServer(conversation, data_dir=data_dir, history_length=history_length, limits=limits)
    bound_host, bound_port = await server.start(host, port, tls)
    loop_name = "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
    logger.info(
        "chat server listening on %s:%d, %s event loop (Ctrl+C to stop)", bound_host, bound_port, loop_name
    )
    web = None
    try:
        if web_port is not None:
            from chatlib.app.web.front import start_web_front  # aiohttp's web server: only when asked for

            web = await start_web_front(server, host, web_port, web_origins, tls)
        await stop_requested.wait()
    finally:
        await server.stop(SHUTDOWN_REASON)
        if web is not None:
            await web.stop()


def event_loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What makes the server's event loop: asyncio's own (None), or uvloop's (``--loop uvloop``)."""
    if name == "uvloop":
        import uvloop  # only when asked for: it is an optional dependency, and not on Windows

        return uvloop.new_event_loop
    return None


def configure_console(verbose: bool, quiet: bool) -> None:
    """Console logs: INFO and above (WARNING with ``quiet``); ``verbose`` adds the chat's own DEBUG
    lines, not those of the libraries it uses (asyncio's "Using selector", say)."""
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    if verbose:
        logging.getLogger(CHAT_LOGGER).setLevel(logging.DEBUG)


def serving_tls(cert_file: Path | None, key_file: Path | None) -> ssl.SSLContext | None:
    """The TLS context to serve with (None: plain TCP); its certificate's fingerprint is logged."""
    if cert_file is None or key_file is None:
        return None
    context = server_context(cert_file, key_file)
    logger.info("TLS with %s, fingerprint %s", cert_file, file_fingerprint(cert_file))
    return context


def main(argv: list[str] | None = None) -> int:
    """The ``chat-server`` command: read the settings, open the log file, serve until stopped."""
    settings = server_settings(argv)
    if settings.make_cert is not None:
        return make_cert_command(settings.make_cert, [settings.host])
    configure_console(verbose=settings.verbose, quiet=settings.quiet)
    collect_garbage_less_often()
    try:
        tls = serving_tls(settings.tls_cert, settings.tls_key)
    except (TlsSetupError, OSError) as error:
        print(f"chat-server: {error}", file=sys.stderr)
        return 1
    data_dir = settings.data_dir or default_data_dir()
    try:
        prepare_data_dir(data_dir)
    except OSError as error:
        print(
            f"chat-server: cannot use the data folder {data_dir}: {error.strerror or error}", file=sys.stderr
        )
        return 1
    log_dir = choose_log_dir(settings.log_dir)
    conversation = conversation_log("server", log_dir)
    logger.info("conversation log: %s", log_dir / "server.log")
    logger.info("history and known users: %s", data_dir)
    try:
        with asyncio.Runner(loop_factory=event_loop_factory(settings.loop)) as runner:
            if settings.cluster:  # a node of a cluster: only then is NATS imported
                from chatlib.app.cluster.node import run_cluster_node

                return runner.run(run_cluster_node(settings, conversation))
            runner.run(
                run_server(
                    settings.host,
                    settings.port,
                    conversation,
                    data_dir,
                    settings.history_length,
                    settings.limits,
                    settings.web_port,
                    settings.web_origins,
                    tls,
                )
            )
    except DataFileError as error:
        print(f"chat-server: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(
            f"chat-server: cannot listen on {settings.host}:{settings.port}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        close_conversation_log(conversation)
    return 0


if __name__ == "__main__":
    sys.exit(main())
