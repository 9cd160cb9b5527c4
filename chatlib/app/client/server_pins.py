"""Who the server is, over TLS: its certificate verified by a CA, or pinned the first time as ssh does.

``chat-client --tls`` checks the server's certificate right after the TLS handshake, before it
sends a single frame (its token included). With ``--tls-ca FILE`` (or ``system``) the
certificate must be signed by that CA and name the host. Without, the first connection to a
server pins its certificate's fingerprint in ``known_servers.json``, next to ``tokens.json``;
from then on a server at that address showing another certificate is refused loudly, and so is
a plain-TCP connection to it (a downgrade). The file, private to its owner, looks like::

    {"127.0.0.1:8888": "SHA256:36:7A:A5:..."}
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chatlib.app.client.session_io import SessionError
from chatlib.app.client.tokens import default_state_dir, server_key, write_private_json
from chatlib.app.shared.fingerprints import certificate_fingerprint

PINS_FILE = "known_servers.json"
SYSTEM_CAS = "system"  # --tls-ca system: the certificate authorities this computer trusts


class ServerIdentityError(SessionError):
    """The server could not prove it is the one we mean: nothing was sent to it."""


class ServerPins:
    """The file of pinned certificate fingerprints, one per server address."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_state_dir(cls, state_dir: Path | None = None) -> ServerPins:
        """The pins in ``state_dir`` (default: ``tokens.default_state_dir()``), beside the tokens."""
        return cls((state_dir or default_state_dir()) / PINS_FILE)

    def _read(self) -> dict[str, str]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise SessionError(f"cannot read the pinned certificates in {self.path}: {error}") from None
        if not isinstance(document, dict):
            raise SessionError(f"{self.path} is not a JSON object of pinned certificates")
        return {server: pin for server, pin in document.items() if isinstance(pin, str)}

    def pinned(self, host: str, port: int) -> str | None:
        """The fingerprint pinned for this server, if it was ever reached over TLS."""
        return self._read().get(server_key(host, port))

    def pin(self, host: str, port: int, fingerprint: str) -> None:
        """Pin this server's fingerprint (re-reading the file first, to keep the others)."""
        pins = self._read()
        pins[server_key(host, port)] = fingerprint
        write_private_json(self.path, pins)


@dataclass(frozen=True)
class ClientTls:
    """How ``chat-client --tls`` checks the server: against ``ca`` (a file of CA certificates, or
    ``SYSTEM_CAS``), or, without one, against ``pins``; ``announce`` shows a first pinning."""

    pins: ServerPins
    ca: str | None = None
    announce: Callable[[str], None] = print

    def context(self) -> ssl.SSLContext:
        """The client's side of TLS (1.2 at least): verifying a CA's signature and the host name, or
        taking any certificate for now, to compare its fingerprint with the pin after the handshake."""
        if self.ca is not None:
            try:
                context = ssl.create_default_context(cafile=None if self.ca == SYSTEM_CAS else self.ca)
            except (OSError, ValueError) as error:
                raise SessionError(f"cannot use the CA certificates in {self.ca}: {error}") from None
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the pin, checked before anything is sent, stands for it
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def check(self, host: str, port: int, certificate_der: bytes) -> None:
        """Pin a server met for the first time; refuse one whose certificate is not the pinned one."""
        if self.ca is not None:
            return  # the handshake verified it
        shown = certificate_fingerprint(certificate_der)
        pinned = self.pins.pinned(host, port)
        if pinned is None:
            try:
                self.pins.pin(host, port, shown)
            except OSError as error:
                self.announce(f"Could not pin the certificate in {self.pins.path}: {error.strerror or error}")
            self.announce(
                f"First TLS connection to {host}:{port}: its certificate is {shown}. Pinned in "
                f"{self.pins.path}; if the server's owner says otherwise, stop now."
            )
        elif pinned != shown:
            raise ServerIdentityError(
                f"REFUSED: the certificate of {host}:{port} has changed: it is {shown}, "
                f"but {pinned} was pinned. Someone may be impersonating the server, so nothing was "
                f"sent to it, your token included. If its owner did make a new certificate, remove "
                f'"{server_key(host, port)}" from {self.pins.path} and connect again.'
            )
