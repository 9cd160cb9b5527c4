"""The chat client's settings: defaults < config file < command-line options (``chat-client -h``)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from chatlib.app.shared.settings_file import (
    CLIENT_KEYS,
    DEFAULT_HOST,
    DEFAULT_PORT,
    SettingLayers,
    common_parser,
    path_setting,
    port_number,
    text_setting,
    yes_or_no,
)


@dataclass(frozen=True)
class ClientSettings:
    """Where the client connects, the pseudo and room to use without asking (if given), and
    where it keeps its tokens (``state_dir`` None: the per-user default, ``tokens.default_state_dir``).

    With ``tls`` it speaks TLS, checking the server's certificate against ``tls_ca`` (a file of
    CA certificates, or ``"system"``) or, without one, against the fingerprint pinned the first time.
    """

    host: str
    port: int
    pseudo: str | None
    room: str | None
    log_dir: Path | None
    state_dir: Path | None = None
    tls: bool = False
    tls_ca: str | None = None
    addresses: tuple[tuple[str, int], ...] = ()  # -a H:P,H:P: a cluster's nodes (failover.py)


def client_settings(argv: list[str] | None = None) -> ClientSettings:
    """The chat client's settings from its command line (``sys.argv[1:]`` by default)."""
    parser = common_parser("chat-client", "Chat in a room of the chat server.")
    parser.epilog = (
        "In the chat: /help lists the commands, /join ROOM moves to another room, /image PATH sends "
        "a PNG or JPEG file, /quit (or Ctrl+D) leaves. With input from a pipe or a file, --pseudo "
        "and --room are required and each input line is sent as a message."
    )
    parser.add_argument("--pseudo", help="your pseudo (asked if not given)")
    parser.add_argument("--room", help="the room to join or create (asked if not given)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="folder of the file keeping your tokens, which prove it is you when you come back "
        "(default ~/.local/state/chat_room)",
    )
    parser.add_argument(
        "--tls",
        action=argparse.BooleanOptionalAction,
        help="speak TLS; the server's certificate is pinned the first time (in the state folder), "
        "and a server showing another one later is refused",
    )
    parser.add_argument(
        "--tls-ca",
        metavar="FILE",
        help="speak TLS, and verify the server's certificate with these CA certificates "
        "('system': the ones this computer trusts) instead of pinning it",
    )
    options = parser.parse_args(argv)
    layers = SettingLayers(parser, options, CLIENT_KEYS)
    port = layers.pick(options.port, "PORT", port_number, DEFAULT_PORT)
    given = ",".join(every_address_option(argv)) or None
    try:
        addresses = node_addresses(layers.pick(given, "HOST", text_setting, DEFAULT_HOST), port)
    except ValueError as error:
        parser.error(str(error))
    tls_ca = layers.pick(options.tls_ca, "TLS_CA", tls_ca_setting, None)
    return ClientSettings(
        host=addresses[0][0],
        port=addresses[0][1],
        pseudo=layers.pick(options.pseudo, "PSEUDO", text_setting, None),
        room=layers.pick(options.room, "ROOM", text_setting, None),
        log_dir=layers.pick(options.log_dir, "LOG_DIR", path_setting, None),
        state_dir=layers.pick(options.state_dir, "STATE_DIR", path_setting, None),
        tls=layers.pick(options.tls, "TLS", yes_or_no, False) or tls_ca is not None,
        tls_ca=tls_ca,
        addresses=addresses if len(addresses) > 1 else (),
    )


def every_address_option(argv: list[str] | None) -> list[str]:
    """Every ``-a``/``--address`` given (it may be repeated to name several nodes of a cluster)."""
    collector = argparse.ArgumentParser(add_help=False)
    collector.add_argument("-a", "--address", action="append", default=[])
    return collector.parse_known_args(argv)[0].address


def node_addresses(text: str, default_port: int) -> tuple[tuple[str, int], ...]:
    """``HOST``, ``HOST:PORT`` or several, comma-separated, as (host, port) pairs; ValueError if bad."""
    addresses = []
    for item in (part.strip() for part in text.split(",")):
        host, colon, port_text = item.rpartition(":") if ":" in item else (item, "", "")
        if not host or (colon and not port_text.isdigit()):
            raise ValueError(f"argument -a/--address: {item!r} is not HOST or HOST:PORT")
        addresses.append((host, port_number(port_text) if colon else default_port))
    return tuple(addresses)


def tls_ca_setting(text: str) -> str:
    """``TLS_CA=`` in the file: ``system``, or a file of CA certificates (``~`` for the home folder)."""
    return text if text == "system" else str(path_setting(text))
