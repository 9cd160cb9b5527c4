"""The client against the real ChatServer over loopback: tokens kept and presented (welcome
back), refusals shown, the history shown apart, images sent and drawn."""

from __future__ import annotations

import asyncio
import json
import re
import stat
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from chatlib.app.client.display import HISTORY_END, HISTORY_START, LineKind, plain_text
from chatlib.app.client.session import run_session
from chatlib.app.client.session_io import SessionEnd, SessionError, SessionIO
from chatlib.app.client.tokens import TokenStore, read_tokens
from chatlib.app.protocol import Announcement, Error, ErrorCode, History, ImageFrom, Message, Say, encode
from chatlib.app.protocol.history import HistoryEntry, ImageFacts, history_payload
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.shared.logfiles import close_conversation_log, conversation_log
from chatlib.app.shared.sample_image import sample_png, write_sample_png
from chatlib.app.shared.terminal_text import COLOR_CODE
from tests.app.client_fixtures import TIMEOUT, ScriptedUser, start_scripted_client, without_clock
from tests.app.conftest import ClientFactory
from tests.app.test_client_session import run_against

MORNING_MS = int(datetime(2026, 3, 14, 9, 15).timestamp() * 1000)  # local time, as the client shows it


@pytest.fixture
async def chat_server(log_dir: Path, tmp_path: Path) -> AsyncIterator[ChatServer]:
    """The real server, keeping its users and history in ``tmp_path/data``; every event at 09:15."""
    conversation = conversation_log("server", log_dir)
    server = ChatServer(conversation, data_dir=tmp_path / "data", clock=lambda: MORNING_MS)
    await server.start("127.0.0.1", 0)
    yield server
    async with asyncio.timeout(3 * TIMEOUT):
        await server.stop()
    close_conversation_log(conversation)


@pytest.fixture
def tokens(tmp_path: Path) -> TokenStore:
    """A token file of one's own, in a temporary state folder."""
    return TokenStore.in_state_dir(tmp_path / "state")


class Sessions:
    """Runs ``run_session`` for ScriptedUsers against the test server, and cleans up after."""

    def __init__(self, server: ChatServer, store: TokenStore) -> None:
        assert server.address is not None
        self.host, self.port = server.address
        self.store = store
        self.tasks: list[asyncio.Task[SessionEnd]] = []

    async def start(
        self,
        user: ScriptedUser,
        pseudo: str | None,
        room: str | None = "general",
        *,
        io: SessionIO | None = None,
    ) -> asyncio.Task[SessionEnd]:
        """Start a session, return once it has received its room's history (or has ended)."""
        keeper = self.store.for_server(self.host, self.port)
        session = run_session(self.host, self.port, io or user.io(), pseudo=pseudo, room=room, tokens=keeper)
        task = asyncio.create_task(session)
        self.tasks.append(task)
        async with asyncio.timeout(TIMEOUT):
            while not any(line.text.startswith("You are in room") for line in user.lines) and not task.done():
                await asyncio.wait({task}, timeout=0.02)
        await asyncio.sleep(0)
        return task

    async def finish(self, user: ScriptedUser, task: asyncio.Task[SessionEnd]) -> SessionEnd:
        """End the user's input and wait for the session to end."""
        user.end_input()
        async with asyncio.timeout(TIMEOUT):
            return await task


@pytest.fixture
async def sessions(chat_server: ChatServer, tokens: TokenStore) -> AsyncIterator[Sessions]:
    running = Sessions(chat_server, tokens)
    yield running
    for task in running.tasks:
        task.cancel()
    await asyncio.gather(*running.tasks, return_exceptions=True)


def chat_texts(user: ScriptedUser) -> list[str]:
    """What the user's screen shows of the conversation (no notices), clocks included."""
    kinds = {LineKind.NOTICE, LineKind.ERROR}
    return [plain_text(line) for line in user.lines if line.kind not in kinds]


# --- Tokens and "welcome back" ----------------------------------------------------------------


async def test_the_token_is_kept_and_brings_the_user_back(
    sessions: Sessions, connect: ClientFactory, chat_server: ChatServer, tokens: TokenStore
) -> None:
    bob = await connect("bob", "general")
    alice = ScriptedUser()
    first = await sessions.start(alice, "alice")
    await alice.wait_for("Annonce : alice a rejoint la chatroom")
    assert isinstance(await bob.next_frame(), Announcement)

    saved = read_tokens(tokens.path)
    assert list(saved) == [f"127.0.0.1:{sessions.port}"]
    token = saved[f"127.0.0.1:{sessions.port}"]["alice"]
    known = chat_server.users.find("alice")
    assert len(token) == 32 and known is not None and known.token_matches(token)
    assert stat.S_IMODE(tokens.path.stat().st_mode) == 0o600
    assert not any(token in plain_text(line) for line in alice.lines)

    assert await sessions.finish(alice, first) is SessionEnd.LEFT
    departure = await bob.next_frame()
    assert isinstance(departure, Announcement) and departure.text == "Annonce : alice a quitté la chatroom"

    again = ScriptedUser()
    second = await sessions.start(again, "alice")
    arrival = await bob.next_frame()
    assert isinstance(arrival, Announcement) and arrival.text == "alice est de retour !"
    await bob.say("re alice")
    await again.wait_for("bob a dit : re alice")
    assert [without_clock(text) for text in chat_texts(again)] == [
        "Welcome back alice !",
        HISTORY_START,
        "Annonce : bob a rejoint la chatroom",
        "Annonce : alice a rejoint la chatroom",
        "Annonce : alice a quitté la chatroom",
        HISTORY_END,
        "bob a dit : re alice",
    ]
    assert read_tokens(tokens.path)[f"127.0.0.1:{sessions.port}"]["alice"] == token
    assert await sessions.finish(again, second) is SessionEnd.LEFT


async def test_a_wrong_token_is_refused_and_another_pseudo_asked(
    sessions: Sessions, connect: ClientFactory, tokens: TokenStore
) -> None:
    owner = await connect("alice")
    await owner.close()  # alice is known, and away
    tokens.remember("127.0.0.1", sessions.port, "alice", "not-alice-s-token")
    user = ScriptedUser(answers=["carol"])
    await sessions.start(user, "alice")
    assert user.texts(LineKind.ERROR) == ["! Pseudo refused: wrong token for the pseudo alice"]
    assert user.questions == ["Your pseudo: "]
    await user.wait_for("Annonce : carol a rejoint la chatroom")
    assert read_tokens(tokens.path)[f"127.0.0.1:{sessions.port}"]["alice"] == "not-alice-s-token"


async def test_no_token_for_a_known_pseudo_ends_a_scripted_session(
    chat_server: ChatServer, connect: ClientFactory, tokens: TokenStore
) -> None:
    owner = await connect("alice")
    await owner.close()
    assert chat_server.address is not None
    keeper = tokens.for_server(*chat_server.address)
    user = ScriptedUser(interactive=False)
    message = r"^pseudo 'alice' refused: the pseudo alice belongs to another user$"
    with pytest.raises(SessionError, match=message):
        async with asyncio.timeout(TIMEOUT):
            await run_session(*chat_server.address, user.io(), pseudo="alice", room="general", tokens=keeper)
    assert user.texts(LineKind.ERROR) == ["! Pseudo refused: the pseudo alice belongs to another user"]


async def test_a_token_file_that_cannot_be_written_is_reported_and_the_chat_goes_on(
    chat_server: ChatServer, tmp_path: Path
) -> None:
    (tmp_path / "blocked").write_text("a file where the state folder should be", "utf-8")
    assert chat_server.address is not None
    keeper = TokenStore.in_state_dir(tmp_path / "blocked").for_server(*chat_server.address)
    user = ScriptedUser()
    session = run_session(*chat_server.address, user.io(), pseudo="alice", room="jeux", tokens=keeper)
    task = asyncio.create_task(session)
    await user.wait_for("Annonce : alice a rejoint la chatroom")
    errors = user.texts(LineKind.ERROR)
    assert len(errors) == 1 and errors[0].startswith("! Could not save your token (")
    assert errors[0].endswith("): next time the server will not know you are alice")
    user.end_input()
    async with asyncio.timeout(TIMEOUT):
        assert await task is SessionEnd.LEFT


# --- History ---------------------------------------------------------------------------------


async def test_a_late_joiner_sees_the_history_apart_with_its_original_times(
    sessions: Sessions, connect: ClientFactory
) -> None:
    bob = await connect("bob", "jeux")
    await bob.say("bonjour le salon")
    await bob.send(Say("il y a quelqu'un ?"))
    await bob.sync()
    late = ScriptedUser()
    await sessions.start(late, "dave", "jeux")
    await late.wait_for("Annonce : dave a rejoint la chatroom")
    late.type("me voilà")
    await late.wait_for("Vous avez dit : me voilà")
    shown = chat_texts(late)
    assert shown[:5] == [
        HISTORY_START,
        "[09:15] Annonce : bob a rejoint la chatroom",
        "[09:15] bob a dit : bonjour le salon",
        "[09:15] bob a dit : il y a quelqu'un ?",
        HISTORY_END,
    ]
    assert bob.welcome is not None
    bob_lines = [line for line in late.lines if line.kind is LineKind.MESSAGE]
    assert len(bob_lines) == 2 and {line.color for line in bob_lines} == {bob.welcome.color}
    assert shown[5] == "[09:15] Annonce : dave a rejoint la chatroom"
    assert re.fullmatch(r"\[\d\d:\d\d\] Vous avez dit : me voilà", shown[6])  # the client's own clock


async def test_a_history_that_is_not_json_is_reported_and_the_chat_goes_on() -> None:
    async def send_bad_history(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(encode(History('{"room": "jeux", "entries": [{"kind": "rumour"}]}')))
        writer.write(encode(Message(MORNING_MS, "bob", "#1f77b4", "still here")))
        writer.close()

    user = ScriptedUser()
    assert await run_against(send_bad_history, user) is SessionEnd.SERVER_CLOSED
    assert [without_clock(plain_text(line)) for line in user.lines[-3:]] == [
        "! The server sent a history that cannot be shown: unknown entry kind 'rumour'",
        "bob a dit : still here",
        "! The server closed the connection.",
    ]


async def test_an_image_in_the_history_is_a_placeholder_line() -> None:
    facts_entry = HistoryEntry.image_sent(MORNING_MS, "bob", "#1f77b4", ImageFacts("PNG", 96, 64, 735))

    async def send_history(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(encode(History(history_payload("jeux", [facts_entry]))))
        writer.close()

    user = ScriptedUser()
    await run_against(send_history, user)
    shown = [plain_text(line) for line in user.lines if line.kind in {LineKind.IMAGE, LineKind.HISTORY_MARK}]
    assert shown == [
        HISTORY_START,
        "[09:15] bob sent an image [image PNG 96×64]",
        HISTORY_END,
    ]


# --- Images ----------------------------------------------------------------------------------


async def test_an_image_is_sent_relayed_and_drawn_for_each_reader(
    sessions: Sessions, connect: ClientFactory, tmp_path: Path
) -> None:
    picture = write_sample_png(tmp_path / "sample.png")
    size = picture.stat().st_size
    watcher = await connect("erin", "jeux")
    alice, bob, carol = ScriptedUser(), ScriptedUser(), ScriptedUser()
    colored = SessionIO(bob.show, bob.read_line, bob.ask, picture_columns=lambda: 40, colored_pictures=True)
    await sessions.start(bob, "bob", "jeux", io=colored)
    await sessions.start(carol, "carol", "jeux")
    await sessions.start(alice, "alice", "jeux")
    alice.type(f"/image {picture}")
    await alice.wait_for(f"* Image sent (PNG 96×64, {size} bytes)")

    pictures = []
    for reader in (bob, carol):
        await reader.wait_for("alice sent an image [image PNG 96×64]")
        pictures.append(await reader.wait_for_line(lambda line: line.kind is LineKind.PICTURE))
        assert reader.lines[-2].kind is LineKind.IMAGE and reader.lines[-1] is pictures[-1]
    bob_art, carol_art = (picture.text for picture in pictures)
    assert "\x1b" not in carol_art  # drawn in plain characters: 80 columns, the default
    assert {len(row) for row in carol_art.rstrip("\n").split("\n")} == {80}
    assert COLOR_CODE.search(bob_art) is not None  # colored, 40 columns wide once the colors are off
    assert not COLOR_CODE.sub("", bob_art).count("\x1b")
    assert {len(row) for row in COLOR_CODE.sub("", bob_art).rstrip("\n").split("\n")} == {40}

    frames = [await watcher.next_frame() for _ in range(4)]  # bob, carol and alice arrive, then the image
    image = frames[-1]
    assert isinstance(image, ImageFrom) and image.pseudo == "alice" and image.data == sample_png()


async def test_a_bad_file_is_refused_before_anything_is_sent(
    sessions: Sessions, connect: ClientFactory, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture at all", "utf-8")
    watcher = await connect("erin", "jeux")
    alice = ScriptedUser()
    await sessions.start(alice, "alice", "jeux")
    assert isinstance(await watcher.next_frame(), Announcement)
    alice.type(f"/image {notes}", f"/image {tmp_path / 'nowhere.png'}", "/image", "after")
    await alice.wait_for("Vous avez dit : after")
    assert alice.texts(LineKind.ERROR) == [
        "! Image not sent: this is not a PNG or JPEG image",
        f"! Image not sent: cannot read {tmp_path / 'nowhere.png'}: No such file or directory",
        "! /image needs a file: /image PATH",
    ]
    after = await watcher.next_frame()
    assert isinstance(after, Message) and after.text == "after"  # nothing came before it
    await watcher.expect_silence()


async def test_the_server_s_image_refusal_is_shown() -> None:
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(encode(Error(ErrorCode.BAD_IMAGE, "the image is damaged (broken data stream)")))
        writer.close()

    user = ScriptedUser()
    await run_against(refuse, user)
    assert user.texts(LineKind.ERROR)[0] == (
        "! Image refused by the server: the image is damaged (broken data stream)"
    )


async def test_an_unreadable_image_from_the_server_is_not_drawn() -> None:
    async def send_garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(encode(ImageFrom(MORNING_MS, "bob", "#1f77b4", b"\x1b[2J not an image")))
        writer.close()

    user = ScriptedUser()
    await run_against(send_garbage, user)
    assert user.texts(LineKind.ERROR)[0] == (
        "! bob sent an image that cannot be shown: this is not a PNG or JPEG image"
    )
    assert not [line for line in user.lines if line.kind in {LineKind.IMAGE, LineKind.PICTURE}]


# --- chat-client, scripted, run twice ---------------------------------------------------------


async def test_chat_client_comes_back_as_the_same_user_on_its_second_run(
    chat_server: ChatServer, connect: ClientFactory, tmp_path: Path
) -> None:
    assert chat_server.address is not None
    port = chat_server.address[1]
    bob = await connect("bob", "jeux")
    home, logs = tmp_path / "home", tmp_path / "logs"
    options = ("--pseudo", "alice", "--room", "jeux")

    first = await start_scripted_client(port, logs, home, *options)
    async with asyncio.timeout(3 * TIMEOUT):
        out, err = await first.communicate(b"premier passage\n")
    assert first.returncode == 0, err
    saved = json.loads((home / ".state" / "chat_room" / "tokens.json").read_text("utf-8"))
    token = saved[f"127.0.0.1:{port}"]["alice"]

    second = await start_scripted_client(port, logs, home, *options)
    async with asyncio.timeout(3 * TIMEOUT):
        out, err = await second.communicate(b"me revoila\n")
    assert second.returncode == 0, err
    assert [without_clock(line) for line in out.decode().splitlines()] == [
        "Welcome back alice !",
        HISTORY_START,
        "Annonce : bob a rejoint la chatroom",
        "Annonce : alice a rejoint la chatroom",
        "alice a dit : premier passage",
        "Annonce : alice a quitté la chatroom",
        HISTORY_END,
        "Vous avez dit : me revoila",
    ]
    texts = [await bob.next_frame() for _ in range(6)]
    assert [getattr(frame, "text", None) for frame in texts] == [
        "Annonce : alice a rejoint la chatroom",
        "premier passage",
        "Annonce : alice a quitté la chatroom",
        "alice est de retour !",
        "me revoila",
        "Annonce : alice a quitté la chatroom",
    ]
    log = (logs / "client.log").read_text("utf-8")
    assert token not in log + out.decode() + err.decode()
