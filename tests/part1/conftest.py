"""Shared fixtures for Part I: the stand-in web site on a free loopback port."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from chatlib.first_steps.standin_site import StandinSite, StandinSiteThread

PAGE_COUNT = 5


@pytest.fixture
def site_thread() -> Iterator[StandinSiteThread]:
    """The stand-in site served from its own thread (blocking code can call it), pages answered at once."""
    with StandinSiteThread(port=0, pages=PAGE_COUNT, delay=0) as site:
        yield site


@pytest.fixture
async def site() -> AsyncIterator[StandinSite]:
    """The stand-in site served by the test's own event loop, pages answered at once."""
    async with StandinSite(port=0, pages=PAGE_COUNT, delay=0) as served:
        yield served


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
