"""The fingerprint of a TLS certificate, as both programs show it: its SHA-256 in hex pairs.

It is the form ``openssl x509 -noout -fingerprint -sha256 -in chat-server.crt`` prints, so a
teacher can read it off the certificate file and students can compare it with what
``chat-client --tls`` pinned.
"""

from __future__ import annotations

import hashlib


def certificate_fingerprint(certificate_der: bytes) -> str:
    """``SHA256:AB:CD:...``: the SHA-256 of the certificate in DER form, as colon-separated hex pairs."""
    return "SHA256:" + hashlib.sha256(certificate_der).digest().hex(":").upper()
