"""What the server keeps across restarts: its known users and every room's history, in ``data_dir``.

Both live in JSON Lines files, read back at start and appended to every ``flush_interval``
seconds (and once more at stop) by a background task; without a data folder they live as long
as the server object. The writing is done by a thread that does nothing else, so that no other
work (an image to check, a slow lookup) can ever make a save wait: the promise about ``kill -9``
(at most ``flush_interval`` lost) holds under any load.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

from chatlib.app.server.history import ChatHistory
from chatlib.app.server.storage import JsonLinesFile, check_data_file, prepare_data_dir, read_json_lines
from chatlib.app.server.users import KnownUser, KnownUsers
from chatlib.app.shared.logfiles import ConversationLog

logger = logging.getLogger(__name__)

HISTORY_FILE = "history.jsonl"
USERS_FILE = "users.jsonl"


class ServerStore:
    """The known users, the history and the conversation log, and the task that saves them."""

    def __init__(
        self,
        data_dir: Path | None,
        history_length: int,
        flush_interval: float,
        conversation: ConversationLog | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.users = KnownUsers()
        self.history = ChatHistory(history_length)
        self.conversation = conversation
        self._users_file: JsonLinesFile | None = None
        self._writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="save history and users")
        self._flush_interval = flush_interval
        self._saver: asyncio.Task[None] | None = None
        self._stop_saving = asyncio.Event()

    async def load(self) -> None:
        """Read the known users and the history back, and open their files for what comes next.

        Damaged lines are skipped with a warning; DataFileError if a file cannot be used at all.
        """
        if self.data_dir is None:
            return
        prepare_data_dir(self.data_dir)
        users_path, history_path = self.data_dir / USERS_FILE, self.data_dir / HISTORY_FILE
        for path in (users_path, history_path):
            check_data_file(path)
        user_records = await asyncio.to_thread(lambda: list(read_json_lines(users_path)))
        history_records = await asyncio.to_thread(lambda: list(read_json_lines(history_path)))
        self.users = KnownUsers.from_records(user_records)
        entries = self.history.load(history_records)
        logger.info(
            "%d known users and %d history entries loaded from %s", len(self.users), entries, self.data_dir
        )
        self._users_file = JsonLinesFile(users_path, self._writer_thread)
        self.history.file = JsonLinesFile(history_path, self._writer_thread)
        gc.collect()
        gc.freeze()  # what was loaded stays: the garbage collector need not walk it again and again

    def start_saving(self) -> None:
        """Save in the background from now on, if there is a data folder."""
        if self.data_dir is not None:
            self._saver = asyncio.create_task(self._keep_saving(), name="save history and users")

    async def _keep_saving(self) -> None:
        """Write what was queued every ``flush_interval`` seconds, and once more when told to stop."""
        while not self._stop_saving.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop_saving.wait(), self._flush_interval)
            await self.save()

    def user_registered(self, user: KnownUser) -> None:
        """Queue a new user for the users file."""
        if self._users_file is not None:
            self._users_file.append(user.to_record())

    def log(self, event: str) -> None:
        """Write one event of the conversation to the conversation log, if the server keeps one."""
        if self.conversation is not None:
            self.conversation.write(event)

    def log_all(self, events: list[str]) -> None:
        """Write several events of the conversation that happened together (see ``log``)."""
        if self.conversation is not None:
            self.conversation.write_all(events)

    async def save(self) -> None:
        """Write the queued history entries, new users and conversation log lines to their files now."""
        if self.conversation is not None:
            self.conversation.flush()
        for file in (self._users_file, self.history.file):
            if file is not None:
                await file.flush()

    async def stop_saving(self) -> None:
        """Stop the background saving after one last round, and flush the conversation log."""
        if self._saver is not None:
            self._stop_saving.set()
            await self._saver  # its last round saves the departures too
        if self.conversation is not None:
            self.conversation.flush()
