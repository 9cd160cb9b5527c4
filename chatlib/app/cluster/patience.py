"""Asking JetStream again: a request lost while NATS elects a new leader gets no answer, so ask anew.

When a NATS node dies, the streams it led elect a new leader among the others (a few seconds);
a request sent meanwhile is never answered. Each try therefore waits ``REQUEST_TIMEOUT`` seconds
only, and the request is sent again until ``patience`` runs out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors
import nats.js.errors

T = TypeVar("T")
REQUEST_TIMEOUT = 2.0  # seconds one JetStream request waits for its answer
RETRY_PAUSE = 0.2
UNANSWERED = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
)


async def patiently(request: Callable[[], Awaitable[T]], patience: float) -> T:
    """``await request()``, sent again while it goes unanswered, for at most ``patience`` seconds."""
    give_up = time.monotonic() + patience
    while True:
        try:
            return await request()
        except UNANSWERED:
            if time.monotonic() + RETRY_PAUSE >= give_up:
                raise
            await asyncio.sleep(RETRY_PAUSE)
