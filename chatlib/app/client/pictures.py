"""Received images, drawn one at a time beside the conversation, which never waits for them.

Drawing a picture means decoding a peer's image: up to a second for the largest, and a peer
may send a file made to take longer. So the receive loop hands each ``IMAGE_FROM`` to a
``PictureDrawer`` and goes on showing messages. The drawer draws the images in the order they
came, in the image worker's process (``shared/image_worker.py``: decoded once, within a
deadline), and each appears when it is ready. A few may wait their turn; past that, an image
is not drawn and the user is told.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from chatlib.app.protocol import ImageFrom
from chatlib.app.shared.image_worker import ImageWorker

MAX_PICTURES_WAITING = 4  # images received and not drawn yet, the one being drawn included

Draw = Callable[[ImageFrom, ImageWorker], Awaitable[None]]


class PictureDrawer:
    """Draws received images with ``draw(frame, worker)``, one after the other, in a task of its own."""

    def __init__(self, draw: Draw, max_waiting: int = MAX_PICTURES_WAITING) -> None:
        self._draw = draw
        self._max_waiting = max_waiting
        self._waiting: deque[ImageFrom] = deque()
        self._worker = ImageWorker()  # its process starts with the first image
        self._task: asyncio.Task[None] | None = None

    def add(self, image: ImageFrom) -> bool:
        """Queue an image to draw after those already waiting; False (not queued) if too many wait."""
        if len(self._waiting) >= self._max_waiting:
            return False
        self._waiting.append(image)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._draw_all(), name="draw received pictures")
        return True

    async def _draw_all(self) -> None:
        """Draw the waiting images in order, until none is left."""
        while self._waiting:
            await self._draw(self._waiting[0], self._worker)
            self._waiting.popleft()

    async def close(self, grace: float = 0.0) -> None:
        """Stop drawing, after ``grace`` seconds at most for the images waiting; the worker's process ends."""
        if self._task is not None and grace > 0:
            await asyncio.wait({self._task}, timeout=grace)
        self._waiting.clear()
        self._worker.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
