"""Which web pages may open the chat's WebSocket: the server's own page, and those it was told to allow.

A browser sends the page's origin (``Origin: http://host:port``) with every WebSocket it opens,
and lets any page open one to any server: without this check, a page on another site could
chat in its visitors' names from their own address. Programs other than browsers send no
``Origin``; they are let in, as they could connect over TCP anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

ANY_ORIGIN = "*"


def normal_origin(origin: str) -> str:
    """An origin as browsers send it: ``scheme://host[:port]``, lower case, no path or final slash."""
    return origin.strip().rstrip("/").lower()


def checked_origin(text: str) -> str:
    """An origin to allow, as given to ``--web-origin`` or in ``WEB_ORIGINS``: ``*`` or ``http(s)://host[:port]``."""
    origin = normal_origin(text)
    if origin == ANY_ORIGIN:
        return origin
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise ValueError(f"{text!r} is not an origin such as https://example.org or http://10.0.0.5:8080")
    return origin


def origin_list(text: str) -> tuple[str, ...]:
    """The origins of a ``WEB_ORIGINS=`` line, separated by spaces or commas."""
    return tuple(checked_origin(origin) for origin in text.replace(",", " ").split())


class OriginPolicy:
    """Same origin by default, plus the origins listed (``*``: any page at all)."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = frozenset(normal_origin(origin) for origin in allowed)

    def allows(self, origin: str | None, host: str) -> bool:
        """Whether a page of ``origin`` may open the WebSocket of the server reached as ``host``.

        ``host`` is the request's ``Host`` header (``127.0.0.1:8080``). The page's own server is
        recognised by its host and port whatever the scheme, so that a page served through an
        HTTPS proxy still counts as the same site.
        """
        if origin is None:
            return True
        origin = normal_origin(origin)
        if ANY_ORIGIN in self.allowed or origin in self.allowed:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host.lower()
