"""``chat-server --data-dir DIR --history-length N`` as a real subprocess: the data goes to DIR,
and someone entering a room is sent the last N entries of its history."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from chatlib.app.protocol import Closing
from chatlib.app.server.persistence import HISTORY_FILE, USERS_FILE
from tests.app.conftest import FrameClient
from tests.app.test_server_command import ServerStarter, start_server

__all__ = ["start_server"]  # the fixture, shared with the other chat-server tests


async def test_data_dir_and_history_length_options(start_server: ServerStarter, tmp_path: Path) -> None:
    data_dir = tmp_path / "my chat data"
    server = await start_server(
        "-p", "0", "--log-dir", str(tmp_path / "logs"), "--data-dir", str(data_dir), "--history-length", "2"
    )
    await server.wait_for_line(re.escape(f"history and known users: {data_dir}"))
    port = int((await server.wait_for_line(r"listening on 127\.0\.0\.1:(\d+)")).group(1))

    alice = await FrameClient.connect("127.0.0.1", port)
    await alice.hello("alice")
    await alice.enter("jeux")
    for text in ("un", "deux", "trois"):
        await alice.say(text)
    await alice.sync()
    bob = await FrameClient.connect("127.0.0.1", port)
    await bob.hello("bob")
    await bob.enter("jeux")
    assert bob.history is not None
    assert [entry.text for entry in bob.history.entries] == ["deux", "trois"]

    server.process.send_signal(signal.SIGTERM)
    assert await bob.expect_closed() == [Closing("server shutting down")]
    for client in (alice, bob):
        await client.close()
    assert (await server.finish())[0] == 0
    assert (data_dir / USERS_FILE).is_file() and (data_dir / HISTORY_FILE).is_file()
    assert not (tmp_path / "data").exists()  # nothing in the default folder
