"""TLS for ``chat-server``: its certificate and key as an ``ssl`` context, and a self-signed pair to make.

With TLS the chat is encrypted, and a client can check it talks to the real server before it
sends anything, its token included: ``chat-client --tls`` verifies the certificate against a CA
(``--tls-ca``) or pins its fingerprint the first time, as ssh pins host keys. A class server
without a CA makes its own certificate once::

    chat-server --make-cert ~/chat-tls          # or: python -m chatlib.app.server.tls ~/chat-tls
    chat-server --tls-cert ~/chat-tls/chat-server.crt --tls-key ~/chat-tls/chat-server.key

Making a certificate needs the ``cryptography`` package (only then is it imported); serving
with one needs only the standard library.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import re
import socket
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

from chatlib.app.shared.fingerprints import certificate_fingerprint

CERT_FILE = "chat-server.crt"
KEY_FILE = "chat-server.key"
CERT_DAYS = 825  # how long a made certificate is valid
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


class TlsSetupError(ValueError):
    """A certificate or key that cannot be used, or made; the message says which and why."""


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """The server's side of TLS (1.2 at least) with this certificate and private key (PEM files)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
    except OSError as error:  # ssl.SSLError is one too
        reason = error.strerror or getattr(error, "reason", None) or str(error)
        raise TlsSetupError(
            f"cannot use the certificate {cert_file} with the key {key_file}: {reason}"
        ) from None
    return context


def file_fingerprint(cert_file: Path) -> str:
    """The fingerprint of the (first) certificate of a PEM file, as clients show it."""
    found = PEM_CERTIFICATE.search(cert_file.read_text(encoding="ascii", errors="replace"))
    if found is None:
        raise TlsSetupError(f"{cert_file} holds no PEM certificate")
    return certificate_fingerprint(ssl.PEM_cert_to_DER_cert(found.group()))


def make_self_signed(folder: Path, names: Sequence[str] = ()) -> tuple[Path, Path]:
    """Write a new self-signed certificate and its private key (readable by its owner only) in ``folder``.

    The certificate names this machine (``localhost``, 127.0.0.1, ::1, its host name) and
    ``names`` (other host names or addresses clients use), so that a client may also verify it
    as its own CA (``chat-client --tls-ca chat-server.crt``). Existing files are never replaced:
    clients that pinned the old certificate would refuse the new one.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    for path in (cert_path, key_path):
        if path.exists():
            raise TlsSetupError(f"{path} already exists: clients that pinned it would refuse a new one")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chat-server")])
    now = datetime.datetime.now(datetime.timezone.utc)
    alternative_names = [
        _general_name(name) for name in dict.fromkeys([*LOCAL_NAMES, socket.gethostname(), *names])
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with open(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as key_file:
        key_file.write(key_pem)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _general_name(name: str) -> object:
    """A name for the certificate's subject alternative names: an IP address or a DNS name."""
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def make_cert_command(folder: Path, names: Sequence[str] = ()) -> int:
    """Make a certificate, say where it is and what its fingerprint is; the exit status."""
    try:
        cert_path, key_path = make_self_signed(folder, names)
    except (TlsSetupError, OSError) as error:
        print(f"chat-server: cannot make a certificate: {error}", file=sys.stderr)
        return 1
    print(f"certificate: {cert_path}")
    print(f"private key: {key_path} (keep it secret)")
    print(f"fingerprint: {file_fingerprint(cert_path)}")
    print(f"serve with:  chat-server --tls-cert {cert_path} --tls-key {key_path}")
    print("clients:     chat-client --tls (pins this fingerprint the first time: tell them what it is)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m chatlib.app.server.tls DIR [NAME...]``: make a self-signed certificate in DIR."""
    parser = argparse.ArgumentParser(
        prog="python -m chatlib.app.server.tls", description="Make a self-signed certificate for chat-server."
    )
    parser.add_argument("folder", type=Path, help=f"where to write {CERT_FILE} and {KEY_FILE}")
    parser.add_argument("names", nargs="*", help="more host names or addresses the clients connect to")
    options = parser.parse_args(argv)
    return make_cert_command(options.folder, options.names)


if __name__ == "__main__":
    sys.exit(main())
