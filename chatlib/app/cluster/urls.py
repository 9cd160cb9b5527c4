"""The NATS servers of a cluster as ``chat-server --cluster`` and ``CLUSTER=`` give them (no NATS import)."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

NATS_SCHEMES = ("nats", "tls")


def cluster_urls(text: str) -> tuple[str, ...]:
    """``nats://HOST:PORT[,nats://HOST:PORT...]`` as a tuple of URLs; argparse's error if one is not."""
    urls = tuple(part.strip() for part in text.split(",") if part.strip())
    if not urls:
        raise argparse.ArgumentTypeError("no NATS server given (nats://HOST:PORT[,nats://HOST:PORT...])")
    for url in urls:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme not in NATS_SCHEMES or not parts.hostname or port is None:
            raise argparse.ArgumentTypeError(f"{url!r} is not a NATS server URL such as nats://127.0.0.1:4222")
    return urls
