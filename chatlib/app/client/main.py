"""``chat-client``: chat in a room of the chat server from a terminal, or from a script.

In a terminal it asks for a pseudo and a room and keeps the input line at the bottom while the
conversation prints above it. With input from a pipe or a file it takes the pseudo and room from
the options (or the config file), sends each input line, prints what arrives as plain text and
leaves when the input ends. Either way the conversation is also written to ``client.log``.

Exit status: 0 when the user leaves, 1 when the connection fails or the server goes away,
2 for bad options or settings, 130 when interrupted with Ctrl+C.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import sys
from contextlib import nullcontext
from dataclasses import replace

from prompt_toolkit.patch_stdout import patch_stdout

from chatlib.app.client.display import ChatLine, LineKind
from chatlib.app.client.server_pins import ClientTls, ServerIdentityError, ServerPins
from chatlib.app.client.failover import run_with_failover
from chatlib.app.client.session import run_session
from chatlib.app.client.session_io import SessionEnd, SessionError, SessionIO, Show
from chatlib.app.client.settings import ClientSettings, client_settings
from chatlib.app.client.tokens import TokenStore
from chatlib.app.client.transcript import SessionTranscript
from chatlib.app.client.user_io import ScriptedIO, TerminalIO
from chatlib.app.shared.logfiles import (
    ConversationLog,
    choose_log_dir,
    close_conversation_log,
    conversation_log,
)
from chatlib.app.shared.terminal_text import printable

PROGRAM = "chat-client"
EXIT_LEFT = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
LOG_FILE = "client.log"


async def run_client(settings: ClientSettings, io: SessionIO, log: ConversationLog, log_file: str) -> int:
    """Run one chat session with these settings and return the program's exit status."""
    transcript = SessionTranscript(log, settings.host, settings.port)
    show = transcript.logging(io.show)
    show(ChatLine(LineKind.NOTICE, f"Conversation log: {log_file}"))
    show(ChatLine(LineKind.NOTICE, f"Connecting to {settings.host}:{settings.port}..."))
    tokens = TokenStore.in_state_dir(settings.state_dir)
    try:
        if settings.addresses:  # the nodes of a cluster: carry on with another when one goes away
            session_io = replace(io, show=show, logged_in=transcript.logged_in)
            end = await run_with_failover(
                settings.addresses, session_io, pseudo=settings.pseudo, room=settings.room, tokens=tokens
            )
            return EXIT_LEFT if end is SessionEnd.LEFT else EXIT_FAILED
        end = await run_session(
            settings.host,
            settings.port,
            replace(io, show=show, logged_in=transcript.logged_in),
            pseudo=settings.pseudo,
            room=settings.room,
            tokens=tokens.for_server(settings.host, settings.port),
            tls=connection_security(settings, show),
        )
    except SessionError as error:
        transcript.write(f"{PROGRAM}: {error}")
        print(f"{PROGRAM}: {printable(str(error))}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_LEFT if end is SessionEnd.LEFT else EXIT_FAILED


def connection_security(settings: ClientSettings, show: Show) -> ClientTls | None:
    """How to check the server: TLS as asked (None: plain TCP, with a warning beyond this computer).

    A server once reached over TLS is refused over plain TCP (ServerIdentityError): a fake
    server on its address must not get the token by simply not speaking TLS.
    """
    pins = ServerPins.in_state_dir(settings.state_dir)
    if settings.tls:
        return ClientTls(pins, settings.tls_ca, announce=lambda text: show(ChatLine(LineKind.NOTICE, text)))
    if (pinned := pins.pinned(settings.host, settings.port)) is not None:
        raise ServerIdentityError(
            f"REFUSED: {settings.host}:{settings.port} was reached over TLS before (certificate {pinned}, "
            f"pinned in {pins.path}), so nothing is sent to it over plain TCP: use --tls"
        )
    if not is_loopback(settings.host):
        show(
            ChatLine(
                LineKind.ERROR,
                f"Plain TCP to {settings.host}: anyone on the way can read the chat and your token, "
                "or pretend to be the server. Use --tls if the server offers it.",
            )
        )
    return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this computer (``localhost``, 127.x.x.x, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    """The ``chat-client`` command: parse the settings, pick the UI, run the session."""
    settings = client_settings(argv)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if not interactive:
        needed = {"--pseudo": settings.pseudo, "--room": settings.room}
        missing = [option for option, value in needed.items() if not value]
        if missing:
            problem = f"{' and '.join(missing)} needed when input is not a terminal"
            print(f"{PROGRAM}: error: {problem}", file=sys.stderr)
            return EXIT_USAGE
        if isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(errors="replace")  # never fail on a character the output lacks
    log_dir = choose_log_dir(settings.log_dir, file_name=LOG_FILE)
    log = conversation_log("client", log_dir)
    user_io = TerminalIO().session_io() if interactive else ScriptedIO().session_io()
    try:
        with patch_stdout() if interactive else nullcontext():
            return asyncio.run(run_client(settings, user_io, log, str(log_dir / LOG_FILE)))
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        close_conversation_log(log)


if __name__ == "__main__":
    sys.exit(main())
