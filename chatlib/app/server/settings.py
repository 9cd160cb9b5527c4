"""The chat server's settings: defaults < config file < command-line options (``chat-server -h``)."""

from __future__ import annotations

import argparse
import importlib.util
from dataclasses import dataclass, field, replace
from pathlib import Path

from chatlib.app.cluster.urls import cluster_urls
from chatlib.app.server.history import DEFAULT_HISTORY_LENGTH
from chatlib.app.server.limits import DEFAULT_CONNECT_RATE, MiB, ServerLimits
from chatlib.app.server.ratelimit import Allowance, RateLimit
from chatlib.app.shared.settings_file import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    SERVER_KEYS,
    SettingLayers,
    common_parser,
    path_setting,
    port_number,
    positive_int,
    positive_rate,
    positive_seconds,
    text_setting,
    yes_or_no,
)
from chatlib.app.web.origins import checked_origin, origin_list

EVENT_LOOPS = ("asyncio", "uvloop")


@dataclass(frozen=True)
class ServerSettings:
    """Where the server listens, where it writes its logs, how chatty its console is, and its data.

    ``data_dir`` None means the per-user default (``storage.default_data_dir``).
    """

    host: str
    port: int
    log_dir: Path | None
    verbose: bool
    data_dir: Path | None = None
    history_length: int = DEFAULT_HISTORY_LENGTH
    tls_cert: Path | None = None  # TLS: the certificate and its key (PEM files); None: plain TCP
    tls_key: Path | None = None
    make_cert: Path | None = None  # --make-cert DIR: make a self-signed certificate there, then exit
    limits: ServerLimits = field(default_factory=ServerLimits)
    quiet: bool = False  # console: warnings and errors only
    loop: str = "asyncio"  # or "uvloop"
    web_port: int | None = None  # the web page's port (None: no web page)
    web_origins: tuple[str, ...] = ()  # pages of other sites allowed to use the WebSocket
    cluster: tuple[str, ...] = ()  # NATS servers: run as a node of a cluster (docs/CLUSTER.md)
    cluster_patience: float = 10.0  # seconds to wait for NATS, at start or once lost


def history_length(text: str) -> int:
    """Parse how many history entries to replay (0 or more); the argparse ``type`` of ``--history-length``."""
    try:
        length = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid history length {text!r}: not a number") from None
    if length < 0:
        raise argparse.ArgumentTypeError(f"invalid history length {length}: must be 0 or more")
    return length


def _add_tls_options(parser: argparse.ArgumentParser) -> None:
    """TLS: off unless given a certificate and its key (see docs/ROBUSTNESS.md, "Who is the server?")."""
    group = parser.add_argument_group("TLS", "encryption, and an identity clients can check")
    group.add_argument(
        "--tls-cert", type=Path, metavar="FILE", help="serve over TLS with this certificate (PEM)"
    )
    group.add_argument("--tls-key", type=Path, metavar="FILE", help="the certificate's private key (PEM)")
    group.add_argument(
        "--make-cert",
        type=Path,
        metavar="DIR",
        help="make a self-signed certificate and key in DIR (naming the -a address too), "
        "print its fingerprint, and exit",
    )


def _add_limit_options(parser: argparse.ArgumentParser) -> None:
    """The server's limits as options (docs/ROBUSTNESS.md explains each)."""
    defaults = ServerLimits()
    rate = defaults.rate_limit or RateLimit()
    group = parser.add_argument_group("limits", "what one client may do (see docs/ROBUSTNESS.md)")
    group.add_argument(
        "--max-connections",
        type=positive_int,
        metavar="N",
        default=defaults.max_connections,
        help=f"connections in all (default {defaults.max_connections})",
    )
    group.add_argument(
        "--max-per-ip",
        type=positive_int,
        metavar="N",
        default=defaults.max_connections_per_ip,
        help=f"connections from one IP address (default {defaults.max_connections_per_ip})",
    )
    group.add_argument(
        "--hello-timeout",
        type=positive_seconds,
        metavar="S",
        default=defaults.hello_timeout,
        help=f"seconds to send an accepted HELLO (default {defaults.hello_timeout:g})",
    )
    group.add_argument(
        "--idle-timeout",
        type=positive_seconds,
        metavar="S",
        default=defaults.idle_timeout,
        help=f"seconds of silence before a PING (default {defaults.idle_timeout:g}); "
        f"no answer within {defaults.pong_timeout:g} s closes the connection",
    )
    group.add_argument(
        "--rate-limit",
        type=positive_rate,
        metavar="N",
        default=rate.per_second,
        help=f"frames (messages, room changes, PONGs...) per second allowed to each client, bursts of "
        f"{rate.burst} (default {rate.per_second:g})",
    )
    group.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="switch flood control off: frames per client, connections and new pseudos per IP "
        "address (for load benchmarks)",
    )
    _add_capacity_options(group, defaults)


def _add_capacity_options(group: argparse._ArgumentGroup, defaults: ServerLimits) -> None:
    """The limits on what all clients together may cost the server (docs/ROBUSTNESS.md)."""
    connects = defaults.connect_rate
    registrations = defaults.registration_rate
    assert connects is not None and registrations is not None
    group.add_argument(
        "--connect-rate",
        type=positive_rate,
        metavar="N",
        default=connects.per_second,
        help=f"new connections per second from one IP address, after a burst of {connects.burst} "
        f"(default {connects.per_second:g})",
    )
    group.add_argument(
        "--new-users-per-hour",
        type=positive_int,
        metavar="N",
        default=registrations.burst,
        help=f"new pseudos registered from one IP address: N at once, then N an hour "
        f"(default {registrations.burst})",
    )
    group.add_argument(
        "--max-users",
        type=positive_int,
        metavar="N",
        default=defaults.max_known_users,
        help=f"known users in all, kept across restarts (default {defaults.max_known_users})",
    )
    group.add_argument(
        "--max-rooms",
        type=positive_int,
        metavar="N",
        default=defaults.max_rooms,
        help=f"rooms existing at once (default {defaults.max_rooms})",
    )
    group.add_argument(
        "--max-buffered-mb",
        type=positive_int,
        metavar="MB",
        default=defaults.max_buffered_bytes // MiB,
        help="MiB held for all clients together: frames half received, output not yet read "
        f"(default {defaults.max_buffered_bytes // MiB})",
    )
    group.add_argument(
        "--image-timeout",
        type=positive_seconds,
        metavar="S",
        default=defaults.image_timeout,
        help=f"seconds to check one image before refusing it (default {defaults.image_timeout:g})",
    )


def web_origin(text: str) -> str:
    """Parse an origin to allow (``https://example.org``, or ``*``); the argparse ``type`` of ``--web-origin``."""
    try:
        return checked_origin(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_web_options(parser: argparse.ArgumentParser) -> None:
    """The web page: off unless given a port (see README, "The chat in a browser")."""
    group = parser.add_argument_group("web page", "the chat in a browser, beside the TCP port")
    group.add_argument(
        "--web-port",
        type=port_number,
        metavar="PORT",
        help="also serve the chat's web page and its WebSocket on this port (default: no web page)",
    )
    group.add_argument(
        "--web-origin",
        type=web_origin,
        action="append",
        metavar="ORIGIN",
        help="let pages of this origin (https://example.org, or * for any) use the WebSocket too; "
        "by default only the server's own page may (repeat for several)",
    )


def _limits(options: argparse.Namespace) -> ServerLimits:
    """The ServerLimits the limit options ask for."""
    defaults = ServerLimits()
    flood_control = not options.no_rate_limit
    per_hour = options.new_users_per_hour
    return replace(
        defaults,
        max_connections=options.max_connections,
        max_connections_per_ip=options.max_per_ip,
        hello_timeout=options.hello_timeout,
        idle_timeout=options.idle_timeout,
        rate_limit=replace(RateLimit(), per_second=options.rate_limit) if flood_control else None,
        connect_rate=replace(DEFAULT_CONNECT_RATE, per_second=options.connect_rate) if flood_control else None,
        registration_rate=Allowance(per_hour / 3600, per_hour) if flood_control else None,
        max_known_users=options.max_users,
        max_rooms=options.max_rooms,
        max_buffered_bytes=options.max_buffered_mb * MiB,
        image_timeout=options.image_timeout,
    )


def _tls_files(layers: SettingLayers, options: argparse.Namespace) -> dict[str, Path | None]:
    """The certificate and key to serve TLS with (both or neither), from the options or the file."""
    cert = layers.pick(options.tls_cert, "TLS_CERT", path_setting, None)
    key = layers.pick(options.tls_key, "TLS_KEY", path_setting, None)
    if (cert is None) != (key is None):
        layers.parser.error("--tls-cert and --tls-key (TLS_CERT and TLS_KEY) go together")
    return {"tls_cert": cert, "tls_key": key}


def server_settings(argv: list[str] | None = None) -> ServerSettings:
    """The chat server's settings from its command line (``sys.argv[1:]`` by default)."""
    parser = common_parser("chat-server", "Serve the chat room over TCP.")
    parser.add_argument(
        "-v", "--verbose", action=argparse.BooleanOptionalAction, help="log every frame on the console"
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="console: warnings and errors only, no line per connection or message (the log file keeps all)",
    )
    parser.add_argument(
        "--loop",
        choices=EVENT_LOOPS,
        default="asyncio",
        help="event loop: asyncio's own (default), or uvloop, built on libuv (faster under load)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="folder for the history and the known users (default ~/.local/share/chat_room)",
    )
    parser.add_argument(
        "--history-length",
        type=history_length,
        metavar="N",
        help=f"messages replayed to someone entering a room (default {DEFAULT_HISTORY_LENGTH})",
    )
    parser.add_argument(
        "--cluster",
        type=cluster_urls,
        metavar="URLS",
        help="run as a node of a cluster sharing rooms, users and history through NATS: "
        "nats://HOST:PORT[,nats://HOST:PORT...] (docs/CLUSTER.md)",
    )
    parser.add_argument(
        "--cluster-patience",
        type=positive_seconds,
        metavar="S",
        default=10.0,
        help="with --cluster: seconds to wait for NATS, at start or once lost, before stopping (default 10)",
    )
    _add_web_options(parser)
    _add_limit_options(parser)
    _add_tls_options(parser)
    options = parser.parse_args(argv)
    if options.quiet and options.verbose:
        parser.error("--quiet and --verbose cannot go together")
    if options.loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        parser.error("--loop uvloop: uvloop is not installed (pip install uvloop; not on Windows)")
    layers = SettingLayers(parser, options, SERVER_KEYS)
    return ServerSettings(
        host=layers.pick(options.address, "HOST", text_setting, DEFAULT_HOST),
        port=layers.pick(options.port, "PORT", port_number, DEFAULT_PORT),
        log_dir=layers.pick(options.log_dir, "LOG_DIR", path_setting, None),
        verbose=layers.pick(options.verbose, "VERBOSE", yes_or_no, False),
        data_dir=layers.pick(options.data_dir, "DATA_DIR", path_setting, None),
        history_length=layers.pick(
            options.history_length, "HISTORY_LENGTH", history_length, DEFAULT_HISTORY_LENGTH
        ),
        **_tls_files(layers, options),
        make_cert=options.make_cert,
        limits=_limits(options),
        quiet=options.quiet,
        loop=options.loop,
        web_port=layers.pick(options.web_port, "WEB_PORT", port_number, None),
        web_origins=layers.pick(
            tuple(options.web_origin) if options.web_origin else None, "WEB_ORIGINS", origin_list, ()
        ),
        cluster=layers.pick(options.cluster, "CLUSTER", cluster_urls, ()),
        cluster_patience=options.cluster_patience,
    )
