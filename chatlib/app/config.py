"""Settings of the chat server and client: defaults < config file < command-line options.

The config file is a dotenv-style ``KEY=VALUE`` file (``HOST=127.0.0.1`` / ``PORT=9999``),
read with python-dotenv's ``dotenv_values`` and never loaded into ``os.environ``. It is the
file given with ``--config FILE``, else ``./chat.env`` if it exists, else
``$XDG_CONFIG_HOME/chat_room/chat.env`` (``~/.config/chat_room/chat.env``) if it exists.

One file may serve both programs: the server uses HOST, PORT, LOG_DIR, VERBOSE, DATA_DIR and
HISTORY_LENGTH, the client HOST, PORT, LOG_DIR, PSEUDO, ROOM and STATE_DIR; each ignores the
other's keys and rejects any other key.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from chatlib.app.history import DEFAULT_HISTORY_LENGTH
from chatlib.app.limits import ServerLimits
from chatlib.app.ratelimit import RateLimit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8888
CONFIG_FILE_NAME = "chat.env"
EVENT_LOOPS = ("asyncio", "uvloop")

SERVER_KEYS = frozenset({"HOST", "PORT", "LOG_DIR", "VERBOSE", "DATA_DIR", "HISTORY_LENGTH"})
CLIENT_KEYS = frozenset({"HOST", "PORT", "LOG_DIR", "PSEUDO", "ROOM", "STATE_DIR"})
KNOWN_KEYS = SERVER_KEYS | CLIENT_KEYS

T = TypeVar("T")

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


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
    limits: ServerLimits = field(default_factory=ServerLimits)
    quiet: bool = False  # console: warnings and errors only
    loop: str = "asyncio"  # or "uvloop"


@dataclass(frozen=True)
class ClientSettings:
    """Where the client connects, the pseudo and room to use without asking (if given), and
    where it keeps its tokens (``state_dir`` None: the per-user default, ``tokens.default_state_dir``)."""

    host: str
    port: int
    pseudo: str | None
    room: str | None
    log_dir: Path | None
    state_dir: Path | None = None


class ConfigError(ValueError):
    """A config file or a setting in it that cannot be used; the message says which and why."""


def default_config_paths() -> list[Path]:
    """The places searched, in order, for a config file when ``--config`` is not given."""
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path.cwd() / CONFIG_FILE_NAME, Path(config_home) / "chat_room" / CONFIG_FILE_NAME]


def find_config_file(explicit: Path | None) -> Path | None:
    """The config file to read: the explicit one, else the first default one that exists."""
    if explicit is not None:
        return explicit
    return next((path for path in default_config_paths() if path.is_file()), None)


def read_config_file(path: Path, allowed_keys: frozenset[str]) -> dict[str, str]:
    """Read a KEY=VALUE file; keys of the other program are dropped, unknown keys refused."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path}: not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror or error}") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(f"config file {path}, line {binding.original.line}: not KEY=VALUE")
    settings: dict[str, str] = {}
    for key, value in dotenv_values(stream=io.StringIO(text)).items():
        if key not in KNOWN_KEYS:
            known = ", ".join(sorted(allowed_keys))
            raise ConfigError(f"config file {path}: unknown key {key!r} (known keys: {known})")
        if value is None:
            raise ConfigError(f"config file {path}: {key} has no value (write {key}=...)")
        if key in allowed_keys:
            settings[key] = value
    return settings


def port_number(text: str) -> int:
    """Parse a TCP port (0 lets the system choose one); the argparse ``type`` of ``--port``."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: not a number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {port}: must be between 0 and 65535")
    return port


def history_length(text: str) -> int:
    """Parse how many history entries to replay (0 or more); the argparse ``type`` of ``--history-length``."""
    try:
        length = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid history length {text!r}: not a number") from None
    if length < 0:
        raise argparse.ArgumentTypeError(f"invalid history length {length}: must be 0 or more")
    return length


def positive_int(text: str) -> int:
    """Parse a count that must be 1 or more (``--max-connections``...)."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"invalid number {number}: must be 1 or more")
    return number


def positive_seconds(text: str) -> float:
    """Parse a duration in seconds, more than 0 (``--idle-timeout``...)."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: not a number of seconds") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: must be more than 0 seconds")
    return seconds


def positive_rate(text: str) -> float:
    """Parse a number of messages per second, more than 0 (``--rate-limit``)."""
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid rate {text!r}: not a number") from None
    if not 0 < rate < float("inf"):
        raise argparse.ArgumentTypeError(
            f"invalid rate {text!r}: must be more than 0 (or use --no-rate-limit)"
        )
    return rate


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
        help=f"messages per second allowed to each client, bursts of {rate.burst} (default {rate.per_second:g})",
    )
    group.add_argument(
        "--no-rate-limit", action="store_true", help="switch flood control off (for load benchmarks)"
    )


def _limits(options: argparse.Namespace) -> ServerLimits:
    """The ServerLimits the limit options ask for."""
    defaults = ServerLimits()
    rate_limit = None if options.no_rate_limit else replace(RateLimit(), per_second=options.rate_limit)
    return replace(
        defaults,
        max_connections=options.max_connections,
        max_connections_per_ip=options.max_per_ip,
        hello_timeout=options.hello_timeout,
        idle_timeout=options.idle_timeout,
        rate_limit=rate_limit,
    )


def yes_or_no(text: str) -> bool:
    """Parse a boolean setting such as ``VERBOSE=true`` / ``VERBOSE=0``."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{text!r} is not a yes/no value (use true or false)")


def _common_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The options shared by both programs; ``None`` defaults mean "not given on the line"."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "-a", "--address", metavar="HOST", help=f"IP address or host name (default {DEFAULT_HOST})"
    )
    parser.add_argument("-p", "--port", type=port_number, help=f"TCP port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"KEY=VALUE settings file (default ./{CONFIG_FILE_NAME} if present, "
        f"else ~/.config/chat_room/{CONFIG_FILE_NAME})",
    )
    parser.add_argument(
        "--log-dir", type=Path, metavar="DIR", help="folder for the log file (default /var/log/chat_room)"
    )
    return parser


class _Layers:
    """Looks each setting up in the command-line options, then the config file, then its default."""

    def __init__(
        self, parser: argparse.ArgumentParser, options: argparse.Namespace, allowed_keys: frozenset[str]
    ) -> None:
        self.parser = parser
        self.config_path = find_config_file(options.config)
        try:
            self.from_file = read_config_file(self.config_path, allowed_keys) if self.config_path else {}
        except ConfigError as error:
            parser.error(str(error))

    def pick(self, option_value: T | None, key: str, convert: Callable[[str], T], default: T) -> T:
        """The option if given, else the file's value (a bad one ends the program), else the default."""
        if option_value is not None:
            return option_value
        if key not in self.from_file:
            return default
        try:
            return convert(self.from_file[key])
        except (ValueError, argparse.ArgumentTypeError) as error:
            self.parser.error(f"config file {self.config_path}: {key}: {error}")


def _path(text: str) -> Path:
    """A folder setting from the file; ``~`` means the user's home."""
    return Path(text).expanduser()


def _text(text: str) -> str:
    """A plain text setting from the file."""
    return text


def server_settings(argv: list[str] | None = None) -> ServerSettings:
    """The chat server's settings from its command line (``sys.argv[1:]`` by default)."""
    parser = _common_parser("chat-server", "Serve the chat room over TCP.")
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
    _add_limit_options(parser)
    options = parser.parse_args(argv)
    if options.quiet and options.verbose:
        parser.error("--quiet and --verbose cannot go together")
    if options.loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        parser.error("--loop uvloop: uvloop is not installed (pip install uvloop; not on Windows)")
    layers = _Layers(parser, options, SERVER_KEYS)
    return ServerSettings(
        host=layers.pick(options.address, "HOST", _text, DEFAULT_HOST),
        port=layers.pick(options.port, "PORT", port_number, DEFAULT_PORT),
        log_dir=layers.pick(options.log_dir, "LOG_DIR", _path, None),
        verbose=layers.pick(options.verbose, "VERBOSE", yes_or_no, False),
        data_dir=layers.pick(options.data_dir, "DATA_DIR", _path, None),
        history_length=layers.pick(
            options.history_length, "HISTORY_LENGTH", history_length, DEFAULT_HISTORY_LENGTH
        ),
        limits=_limits(options),
        quiet=options.quiet,
        loop=options.loop,
    )


def client_settings(argv: list[str] | None = None) -> ClientSettings:
    """The chat client's settings from its command line (``sys.argv[1:]`` by default)."""
    parser = _common_parser("chat-client", "Chat in a room of the chat server.")
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
    options = parser.parse_args(argv)
    layers = _Layers(parser, options, CLIENT_KEYS)
    return ClientSettings(
        host=layers.pick(options.address, "HOST", _text, DEFAULT_HOST),
        port=layers.pick(options.port, "PORT", port_number, DEFAULT_PORT),
        pseudo=layers.pick(options.pseudo, "PSEUDO", _text, None),
        room=layers.pick(options.room, "ROOM", _text, None),
        log_dir=layers.pick(options.log_dir, "LOG_DIR", _path, None),
        state_dir=layers.pick(options.state_dir, "STATE_DIR", _path, None),
    )
