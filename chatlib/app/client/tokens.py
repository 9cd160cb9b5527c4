"""The client's secret tokens: one per server address and pseudo, kept in a private JSON file.

A server gives each new pseudo a token in its WELCOME; presenting it in the next HELLO proves
it is the same person again, even from a new port. The file, readable by its owner only, is
``$XDG_STATE_HOME/chat_room/tokens.json`` (``~/.local/state/chat_room/tokens.json``) unless a
state folder is chosen, and looks like::

    {"127.0.0.1:8888": {"alice": "<token>", "bob": "<token>"}}

Pseudos are keyed in the server's form (``name_key``: case and look-alikes ignored); a file
written with an older form is re-keyed as it is read. The file is replaced atomically (a
temporary file renamed over it), so a crash never leaves half of it. Tokens are never printed
or logged.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from chatlib.app.protocol.names import name_key

TOKENS_FILE = "tokens.json"
TokenTable = dict[str, dict[str, str]]


def default_state_dir() -> Path:
    """Where the client keeps its state: ``$XDG_STATE_HOME/chat_room`` (``~/.local/state/chat_room``)."""
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "chat_room"


def server_key(host: str, port: int) -> str:
    """The key of one server in the file: its address as the user gave it."""
    return f"{host}:{port}"


def read_tokens(path: Path) -> TokenTable:
    """The tokens in the file, keyed by today's ``name_key``.

    An absent, unreadable or malformed file holds none.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    return {
        server: {name_key(pseudo): token for pseudo, token in tokens.items() if isinstance(token, str)}
        for server, tokens in document.items()
        if isinstance(tokens, dict)
    }


def write_tokens(path: Path, table: TokenTable) -> None:
    """Replace the file with ``table`` in one step, readable and writable by its owner only."""
    write_private_json(path, table)


def write_private_json(path: Path, document: dict[str, Any]) -> None:
    """Replace the JSON file at ``path`` with ``document`` in one step, private to its owner (0600)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".json", dir=path.parent)
    try:
        with open(descriptor, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=2, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class TokenStore:
    """The token file of one user, with its tokens for every server."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_state_dir(cls, state_dir: Path | None = None) -> TokenStore:
        """The store in ``state_dir`` (default: ``default_state_dir()``)."""
        return cls((state_dir or default_state_dir()) / TOKENS_FILE)

    def token_for(self, host: str, port: int, pseudo: str) -> str:
        """The token this server gave this pseudo, or "" if it never gave one."""
        return read_tokens(self.path).get(server_key(host, port), {}).get(name_key(pseudo.strip()), "")

    def remember(self, host: str, port: int, pseudo: str, token: str) -> None:
        """Keep the token a server gave a pseudo (re-reading the file first, to keep the others)."""
        table = read_tokens(self.path)
        tokens = table.setdefault(server_key(host, port), {})
        if tokens.get(name_key(pseudo)) == token:
            return
        tokens[name_key(pseudo)] = token
        write_tokens(self.path, table)

    def for_server(self, host: str, port: int) -> ServerTokens:
        """The tokens of one server, as a session needs them."""
        return ServerTokens(self, host, port)


class ServerTokens:
    """A ``TokenStore`` seen from one server: look a pseudo's token up, keep a new one."""

    def __init__(self, store: TokenStore, host: str, port: int) -> None:
        self._store = store
        self._host = host
        self._port = port

    def token_for(self, pseudo: str) -> str:
        """The token to present with this pseudo ("" for a pseudo never used on this server)."""
        return self._store.token_for(self._host, self._port, pseudo)

    def remember(self, pseudo: str, token: str) -> None:
        """Keep the token of the pseudo the server accepted. OSError if the file cannot be written."""
        self._store.remember(self._host, self._port, pseudo, token)
