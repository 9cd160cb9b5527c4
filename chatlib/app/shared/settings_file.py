"""The settings file both programs read, and what their command lines share.

Each program's settings come from defaults < config file < command-line options
(``server/settings.py``, ``client/settings.py``).

The config file is a dotenv-style ``KEY=VALUE`` file (``HOST=127.0.0.1`` / ``PORT=9999``),
read with python-dotenv's ``dotenv_values`` and never loaded into ``os.environ``. It is the
file given with ``--config FILE``, else ``./chat.env`` if it exists, else
``$XDG_CONFIG_HOME/chat_room/chat.env`` (``~/.config/chat_room/chat.env``) if it exists.

One file may serve both programs: the server uses HOST, PORT, LOG_DIR, VERBOSE, DATA_DIR,
HISTORY_LENGTH, WEB_PORT and WEB_ORIGINS, TLS_CERT and TLS_KEY, the client HOST, PORT,
LOG_DIR, PSEUDO, ROOM, STATE_DIR, TLS and TLS_CA; each ignores the other's keys and rejects
any other key.
"""

from __future__ import annotations

import argparse
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dotenv import dotenv_values
from dotenv.parser import parse_stream

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8888
CONFIG_FILE_NAME = "chat.env"

SERVER_KEYS = frozenset({"HOST", "PORT", "LOG_DIR", "VERBOSE", "DATA_DIR", "HISTORY_LENGTH"})
CLIENT_KEYS = frozenset({"HOST", "PORT", "LOG_DIR", "PSEUDO", "ROOM", "STATE_DIR"})
SERVER_KEYS |= {"CLUSTER"}  # chat-server --cluster: the NATS servers of a cluster (docs/CLUSTER.md)
SERVER_KEYS |= {"WEB_PORT", "WEB_ORIGINS"}  # chat-server --web-port: the chat's web page (chatlib/app/web)
SERVER_KEYS |= {"TLS_CERT", "TLS_KEY"}  # chat-server --tls-cert: TLS (chatlib/app/server/tls.py)
CLIENT_KEYS |= {"TLS", "TLS_CA"}  # chat-client --tls: TLS, the server checked (client/server_pins.py)
KNOWN_KEYS = SERVER_KEYS | CLIENT_KEYS

T = TypeVar("T")

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


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


def yes_or_no(text: str) -> bool:
    """Parse a boolean setting such as ``VERBOSE=true`` / ``VERBOSE=0``."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{text!r} is not a yes/no value (use true or false)")


def common_parser(prog: str, description: str) -> argparse.ArgumentParser:
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


class SettingLayers:
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


def path_setting(text: str) -> Path:
    """A folder setting from the file; ``~`` means the user's home."""
    return Path(text).expanduser()


def text_setting(text: str) -> str:
    """A plain text setting from the file."""
    return text
