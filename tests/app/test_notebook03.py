"""Notebook 03 (the finished app, both halves) run headless, and its in-notebook helpers on their own."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from IPython.lib.pretty import pretty

from chatlib.app.client.display import ChatLine, LineKind
from chatlib.app.protocol import FrameDecoder, Hello, encode
from chatlib.app.server.colors import PALETTE
from chatlib.notebook.app_demo import join_chat, line_html, side_by_side, start_chat_server, stop_all
from tests.notebook_runner import NOTEBOOKS, cell_text_outputs, execute_notebook

NOTEBOOK = "03_finished_chat.ipynb"
TIMEOUT = 5.0
CLOCK = re.compile(r"\[\d\d:\d\d\]")


def free_port() -> int:
    """A TCP port nobody listens on right now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def without_clock(text: str) -> str:
    """The text with every ``[hh:mm]`` written literally, since the time of a run varies."""
    return CLOCK.sub("[hh:mm]", text)


class ExecutedNotebook:
    """The notebook after a headless run: the outputs of the code cell holding a given snippet."""

    def __init__(self, notebook: nbformat.NotebookNode, port: int) -> None:
        self.notebook = notebook
        self.port = port

    def cell(self, snippet: str) -> nbformat.NotebookNode:
        """The one code cell whose source contains ``snippet``, or whose id is ``snippet``."""
        found = [
            cell
            for cell in self.notebook.cells
            if cell.cell_type == "code" and (snippet in cell.source or cell.get("id") == snippet)
        ]
        assert len(found) == 1, f"{len(found)} code cells contain {snippet!r}"
        return found[0]

    def text(self, snippet: str) -> str:
        """What that cell printed or displayed as text, clock times written ``[hh:mm]``."""
        return without_clock(cell_text_outputs(self.cell(snippet)))

    def html(self, snippet: str) -> str:
        """The HTML that cell displayed."""
        return "".join(output.get("data", {}).get("text/html", "") for output in self.cell(snippet).outputs)


@pytest.fixture(scope="module")
def executed() -> Iterator[ExecutedNotebook]:
    """The notebook run once, top to bottom, in a real kernel, its chat on a free port."""
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHAT_PORT", str(port))
        yield ExecutedNotebook(execute_notebook(NOTEBOOK), port)


@pytest.mark.notebook
def test_framing_section_shows_the_glued_reads_the_bytes_and_the_decoded_frames(
    executed: ExecutedNotebook,
) -> None:
    assert executed.text("socket.socketpair()") == (
        "one recv(1024) gets: b'first messagesecond message'\n"
        "1500 bytes sent at once arrive as 1024 + 476 bytes\n"
    )
    assert "whole frame: 01 01 07 05 61 6c 69 63 65 00  (10 bytes)" in executed.text('encode(Hello("alice"))')
    assert (
        "whole frame: 84 01 19 00 00 01 8b cf e5 68 00 03 62 6f 62 07 23 31 66 37 37 62 34 73 61 6c 75 74"
        "  (28 bytes)"
    ) in executed.text("encode(Message(")
    decoded = executed.text("byte_by_byte = []")
    frames = (
        "[Hello(pseudo='alice', token=''), EnterRoom(room='general'), Say(text='first message'), "
        "Say(text='second message, déjà vu'), Bye()]"
    )
    assert f"fed one byte at a time: {frames}\n" in decoded
    assert f"fed in one chunk:       {frames}\n" in decoded
    assert decoded.endswith("exactly the frames sent, both ways: True\n")
    assert executed.text("glued = ") == (
        "two frames in one read: [Say(text='first message'), Say(text='second message')]\n"
        "read 1: 1024 bytes -> 0 frame(s), 1024 bytes kept \n"
        "read 2: 981 bytes -> 1 frame(s), 0 bytes kept -> Say of 1001 characters\n"
        "read 1 ends with byte c3 and read 2 starts with a9: the two halves of an é\n"
    )
    assert executed.text("huge_header = ") == (
        "huge length header: ProtocolError TOO_LARGE: SAY of 1000000000 bytes is over its limit of 4096"
        " (0 bytes kept)\n"
        "invalid UTF-8: ProtocolError BAD_UTF8: text is not valid UTF-8 (invalid continuation byte)"
        " (0 bytes kept)\n"
    )


@pytest.mark.notebook
def test_two_server_objects_run_side_by_side_with_their_own_users(executed: ExecutedNotebook) -> None:
    output = executed.text("async with ChatServer() as first")
    addresses = re.findall(r"\('127\.0\.0\.1', (\d+)\)", output)
    assert len(addresses) == 2 and addresses[0] != addresses[1]
    assert (
        "alice is in on both: [hh:mm] Annonce : alice a rejoint la chatroom"
        " | [hh:mm] Annonce : alice a rejoint la chatroom\n"
    ) in output
    assert output.endswith("both stopped by `async with`\n")


@pytest.mark.notebook
def test_the_server_cell_serves_on_chat_port_and_shows_its_console(executed: ExecutedNotebook) -> None:
    console = executed.text("part3a-19")  # server = await start_chat_server(HOST, PORT, data_dir=DATA_DIR)
    # what starting logged, and nothing of what later sections made the server log
    loaded, listening = console.splitlines()
    assert " INFO 0 known users and 0 history entries loaded from " in loaded
    assert listening == f"listening on 127.0.0.1:{executed.port}"
    since_start = executed.text("server.print_new_lines()")
    assert "INFO message received from bob (" in since_start and ") in general: Toujours là ?" in since_start
    assert "WARNING protocol error from 127.0.0.1:" in since_start
    for pseudo in ("alice", "bob", "carol"):
        assert re.search(rf"INFO 127\.0\.0\.1:\d+ is {pseudo}\n", since_start), pseudo
    for later in ("robot", "dave", "est de retour", "server stopped"):  # what later sections did
        assert later not in since_start + console, later


@pytest.mark.notebook
def test_screens_show_each_room_its_own_conversation(executed: ExecutedNotebook) -> None:
    screens = executed.text("side_by_side(alice, bob, carol)")
    alice, rest = screens.split("--- bob's screen ---\n")
    bob, carol = rest.split("--- carol's screen ---\n")
    assert alice.startswith("--- alice's screen ---\n")
    for line in [
        "[hh:mm] Annonce : alice a rejoint la chatroom",
        "[hh:mm] Annonce : bob a rejoint la chatroom",
        "[hh:mm] Vous avez dit : Salut bob !",
        "[hh:mm] bob a dit : Salut alice, ça va ?",
    ]:
        assert line in alice.splitlines()
    for line in [
        "[hh:mm] Annonce : bob a rejoint la chatroom",
        "[hh:mm] alice a dit : Salut bob !",
        "[hh:mm] Vous avez dit : Salut alice, ça va ?",
    ]:
        assert line in bob.splitlines()
    carol_lines = carol.splitlines()
    assert "*   general (2 members)" in carol_lines
    assert "* You are in room jeux. Type /help for the commands." in carol_lines
    assert [line for line in carol_lines if line.startswith("[hh:mm]")] == [
        "[hh:mm] Annonce : carol a rejoint la chatroom",
        "[hh:mm] Vous avez dit : Il y a quelqu'un dans jeux ?",
    ]
    assert "carol's lines about alice or bob: []\n" in executed.text("from_general = ")


@pytest.mark.notebook
def test_screens_render_pseudos_in_their_palette_color(executed: ExecutedNotebook) -> None:
    html = executed.html("side_by_side(alice, bob, carol)")
    colored = re.findall(r'<span style="color:(#[0-9a-f]{6});font-weight:bold">(\w+)</span> a dit : ', html)
    assert sorted(pseudo for _, pseudo in colored) == ["alice", "bob"]
    assert all(color in PALETTE for color, _ in colored)
    speakers = re.search(
        r"the speakers' colors, as their messages carried them: (.*)", executed.text("from_general = ")
    )
    assert speakers is not None
    assert dict(re.findall(r"'(\w+)': '(#[0-9a-f]{6})'", speakers.group(1))) == {
        pseudo: color for color, pseudo in colored
    }


@pytest.mark.notebook
def test_a_client_sending_a_huge_header_is_told_and_dropped_while_the_room_goes_on(
    executed: ExecutedNotebook,
) -> None:
    assert executed.text("writer.write(huge_header)") == (
        "the raw socket received: Error(code=<ErrorCode.TOO_LARGE: 2>,"
        " text='SAY of 1000000000 bytes is over its limit of 4096') then the connection closed\n"
        "alice still hears bob: [hh:mm] bob a dit : Toujours là ?\n"
    )


@pytest.mark.notebook
def test_the_scripted_chat_client_uses_the_config_file_and_reaches_the_room(
    executed: ExecutedNotebook,
) -> None:
    output = executed.text("create_subprocess_exec")
    assert "chat-client exited with status 0\n" in output
    assert (
        "its output:\n"
        "--- history ---\n"
        "[hh:mm] Annonce : alice a rejoint la chatroom\n"
        "[hh:mm] Annonce : bob a rejoint la chatroom\n"
        "[hh:mm] alice a dit : Salut bob !\n"
        "[hh:mm] bob a dit : Salut alice, ça va ?\n"
        "[hh:mm] bob a dit : Toujours là ?\n"
        "--- now ---\n"
        "[hh:mm] Annonce : robot a rejoint la chatroom\n"
        "[hh:mm] Vous avez dit : Bonjour, je suis un script\n"
        "\n"
        "its client.log:\n"
    ) in output
    assert f"* Connecting to 127.0.0.1:{executed.port}..." in output
    assert output.endswith(
        "alice saw:\n"
        "[hh:mm] Annonce : robot a rejoint la chatroom\n"
        "[hh:mm] robot a dit : Bonjour, je suis un script\n"
        "[hh:mm] Annonce : robot a quitté la chatroom\n"
    )


@pytest.mark.notebook
def test_each_connection_comes_from_a_new_port(executed: ExecutedNotebook) -> None:
    output = executed.text("ports.append(")
    assert re.fullmatch(
        r"three connections from this notebook came from the ports \[\d+, \d+, \d+\]\n"
        r"all different: True\n",
        output,
    )


@pytest.mark.notebook
def test_a_user_who_leaves_is_known_and_her_pseudo_protected_until_she_is_welcomed_back(
    executed: ExecutedNotebook,
) -> None:
    assert re.fullmatch(
        r"alice's user id: [0-9a-f]{16} - still known to the server: True\n",
        executed.text("first_id = alice.welcome.user_id"),
    )
    assert executed.text("async def try_hello(") == (
        "alice, no token:    Error(code=<ErrorCode.PSEUDO_TAKEN: 5>,"
        " text='the pseudo alice belongs to another user')\n"
        "alice, wrong token: Error(code=<ErrorCode.BAD_TOKEN: 12>, text='wrong token for the pseudo alice')\n"
        "bob, no token:      Error(code=<ErrorCode.PSEUDO_TAKEN: 5>,"
        " text='the pseudo bob is already in use')\n"
    )
    assert executed.text('await bob.wait_for("alice est de retour !")') == (
        "returning: True - same user id: True\n"
        "alice's first line: Welcome back alice !\n"
        "bob's last line:    [hh:mm] alice est de retour !\n"
    )


@pytest.mark.notebook
def test_a_late_joiner_sees_the_history_apart(executed: ExecutedNotebook) -> None:
    screen = executed.text('dave = await join_chat("dave"').splitlines()
    start = screen.index("--- history ---")
    assert screen[start:] == [
        "--- history ---",
        "[hh:mm] Annonce : alice a rejoint la chatroom",
        "[hh:mm] Annonce : bob a rejoint la chatroom",
        "[hh:mm] alice a dit : Salut bob !",
        "[hh:mm] bob a dit : Salut alice, ça va ?",
        "[hh:mm] bob a dit : Toujours là ?",
        "[hh:mm] Annonce : robot a rejoint la chatroom",
        "[hh:mm] robot a dit : Bonjour, je suis un script",
        "[hh:mm] Annonce : robot a quitté la chatroom",
        "[hh:mm] Annonce : alice a quitté la chatroom",
        "[hh:mm] alice est de retour !",
        "--- now ---",
        "[hh:mm] Annonce : dave a rejoint la chatroom",
    ]
    html = executed.html('dave = await join_chat("dave"')
    assert '<span style="color:#888888">--- history ---</span>' in html


@pytest.mark.notebook
def test_the_history_file_is_only_appended_to(executed: ExecutedNotebook) -> None:
    first, last = executed.text("history_file.stat()").splitlines()
    grown = re.fullmatch(
        r"8 messages later the file grew by (\d+) bytes, (\d+) in all; still the same file: True", first
    )
    assert grown is not None and 8 * 80 < int(grown.group(1)) < int(grown.group(2))
    assert last.startswith("its last line: ")
    record = json.loads(last.removeprefix("its last line: "))
    assert {key: record[key] for key in ("room", "kind", "pseudo", "text")} == {
        "room": "jeux",
        "kind": "message",
        "pseudo": "carol",
        "text": "message 7",
    }


@pytest.mark.notebook
def test_an_image_is_drawn_for_alice_and_a_bomb_refused_twice(executed: ExecutedNotebook) -> None:
    image_cell = executed.cell('bob.type(f"/image {picture}")')
    assert any("image/png" in output.get("data", {}) for output in image_cell.outputs)
    output = executed.text('bob.type(f"/image {picture}")')
    drawn = output.split("[hh:mm] bob sent an image [image PNG 96×64]\n")
    assert len(drawn) == 2
    rows = drawn[1].splitlines()
    assert len(rows) == 19 and {len(row) for row in rows} == {64} and len(set(drawn[1]) - {"\n"}) > 10
    refusal = "the image is 6000×6000 pixels; the most is 16777216 pixels and 8192 on a side"
    assert re.fullmatch(
        r"bomb\.png: \d{4} bytes, 36 million pixels\n"
        f"bob's client: ! Image not sent: {refusal}\n"
        f"the server to mallory: Error\\(code=<ErrorCode.BAD_IMAGE: 11>, text='{refusal}'\\)\n",
        executed.text("PillowImage.new("),
    )


@pytest.mark.notebook
def test_a_restarted_server_keeps_its_users_and_history(executed: ExecutedNotebook) -> None:
    restart = executed.text('print("alice saw:", await alice.wait_for("! The server is closing')
    stopped, started = restart.split(" INFO server stopped: server shutting down\n")
    assert "message received" not in stopped, "only what stopping and starting logged"
    loaded = re.fullmatch(
        r"\d\d:\d\d:\d\d INFO 6 known users and 28 history entries loaded from (\S+)/server-data\n"
        f"listening on 127.0.0.1:{executed.port}\n"
        "alice saw: ! The server is closing: server shutting down\n",
        started,
    )
    assert loaded is not None, restart
    assert not Path(loaded.group(1)).exists()  # the last cell removed the notebook's temporary folder
    assert executed.text('alice.lines.index("--- history ---")') == (
        "Welcome back alice !\n"
        "17 lines of history from before the restart; the first three:\n"
        "[hh:mm] Annonce : alice a rejoint la chatroom\n"
        "[hh:mm] Annonce : bob a rejoint la chatroom\n"
        "[hh:mm] alice a dit : Salut bob !\n"
    )


@pytest.mark.notebook
def test_the_last_cell_leaves_nothing_running(executed: ExecutedNotebook) -> None:
    last = [cell for cell in executed.notebook.cells if cell.cell_type == "code"][-1]
    assert "await stop_all()" in last.source
    *stopping, last_line = cell_text_outputs(last).splitlines()
    assert last_line == f"All stopped: nothing listens on 127.0.0.1:{executed.port} any more."
    assert re.fullmatch(r"\d\d:\d\d:\d\d INFO server stopped: server shutting down", stopping[-1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", executed.port), timeout=TIMEOUT).close()


def test_the_notebook_is_stored_without_outputs() -> None:
    stored = nbformat.read(NOTEBOOKS / NOTEBOOK, as_version=4)
    code_cells = [cell for cell in stored.cells if cell.cell_type == "code"]
    assert code_cells
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells)


# --- The helpers of chatlib.notebook.app_demo, without a kernel ---------------------------------


async def test_users_in_two_rooms_see_only_their_room() -> None:
    server = await start_chat_server("127.0.0.1", 0)
    try:
        alice = await join_chat("alice", "general", port=server.port)
        bob = await join_chat("bob", "general", port=server.port)
        carol = await join_chat("carol", "jeux", port=server.port)
        alice.type("hello bob")
        await bob.wait_for("alice a dit : hello bob")
        await alice.wait_for("Vous avez dit : hello bob")
        assert [without_clock(line) for line in alice.lines if line.startswith("[")] == [
            "[hh:mm] Annonce : alice a rejoint la chatroom",
            "[hh:mm] Annonce : bob a rejoint la chatroom",
            "[hh:mm] Vous avez dit : hello bob",
        ]
        assert not any("alice" in line or "bob" in line for line in carol.lines)
        text = without_clock(pretty(side_by_side(alice, carol)))
        assert text.startswith("--- alice's screen ---\n* Rooms on this server:\n")
        assert "\n--- carol's screen ---\n" in text
        assert text.endswith("\n[hh:mm] Annonce : carol a rejoint la chatroom")
    finally:
        await stop_all()
    assert not alice.running and not bob.running and not carol.running


async def test_starting_the_server_again_on_its_port_replaces_it() -> None:
    first = await start_chat_server("127.0.0.1", 0)
    try:
        alice = await join_chat("alice", "general", port=first.port)
        second = await start_chat_server("127.0.0.1", first.port)
        assert second.port == first.port and second is not first
        await alice.wait_for("! The server is closing: server shutting down")
        again = await join_chat("alice", "general", port=second.port)
        assert again.running
    finally:
        await stop_all()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.wait_for(asyncio.open_connection("127.0.0.1", first.port), TIMEOUT)


async def test_joining_again_with_the_same_pseudo_comes_back_as_the_same_user() -> None:
    server = await start_chat_server("127.0.0.1", 0)
    try:
        first = await join_chat("alice", "general", port=server.port)
        bob = await join_chat("bob", "general", port=server.port)
        second = await join_chat("alice", "general", port=server.port)
        assert not first.running and second.running
        assert first.welcome is not None and second.welcome is not None
        assert second.welcome.returning and second.welcome.user_id == first.welcome.user_id
        assert second.lines[0] == "Welcome back alice !"
        history = second.lines[second.lines.index("--- history ---") : second.lines.index("--- now ---") + 1]
        assert [without_clock(line) for line in history] == [
            "--- history ---",
            "[hh:mm] Annonce : alice a rejoint la chatroom",
            "[hh:mm] Annonce : bob a rejoint la chatroom",
            "[hh:mm] Annonce : alice a quitté la chatroom",
            "--- now ---",
        ]
        await bob.wait_for("alice est de retour !")
        second.type("me again")
        await bob.wait_for("alice a dit : me again")
    finally:
        await stop_all()


async def test_a_misbehaving_raw_client_is_dropped_and_the_room_goes_on() -> None:
    server = await start_chat_server("127.0.0.1", 0)
    try:
        alice = await join_chat("alice", "general", port=server.port)
        bob = await join_chat("bob", "general", port=server.port)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode(Hello("mallory")) + bytes([0x03, 1, 2, 0xC3, 0x28]))
        received = await asyncio.wait_for(reader.read(), TIMEOUT)
        writer.close()
        assert repr(FrameDecoder("server").feed(received)[-1]) == (
            "Error(code=<ErrorCode.BAD_UTF8: 3>, text='text is not valid UTF-8 (invalid continuation byte)')"
        )
        bob.type("still here")
        await alice.wait_for("bob a dit : still here")
    finally:
        await stop_all()


def test_html_escapes_peer_text_and_colors_the_pseudo() -> None:
    line = ChatLine(LineKind.MESSAGE, "<b>hi</b>\x1b[2J", 0, "bob", "#1f77b4")
    rendered = line_html(line)
    pseudo = '<span style="color:#1f77b4;font-weight:bold">bob</span>'
    assert f"{pseudo} a dit : &lt;b&gt;hi&lt;/b&gt;␛[2J" in rendered
    assert "<b>" not in rendered and "\x1b" not in rendered


async def test_the_console_shows_the_server_logs_and_leaves_the_logger_as_it_was() -> None:
    server_logger = logging.getLogger("chatlib.app.server")
    level_before = server_logger.level
    server = await start_chat_server("127.0.0.1", 0)
    try:
        await join_chat("alice", "general", port=server.port)
    finally:
        await stop_all()
    assert server.lines[0] == f"listening on 127.0.0.1:{server.port}"
    assert any(line.endswith(" is alice") for line in server.lines)
    assert server.lines[-1].endswith("INFO server stopped: server shutting down")
    assert server_logger.level == level_before
    assert not [handler for handler in server_logger.handlers if type(handler).__name__ == "_ConsoleHandler"]


async def test_the_console_prints_what_starting_and_stopping_did_and_keeps_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = await start_chat_server("127.0.0.1", 0)
    started = capsys.readouterr().out
    try:
        alice = await join_chat("alice", "general", port=server.port)
        alice.type("bonjour")
        await server.wait_until(lambda lines: any(" in general: bonjour" in line for line in lines))
        assert capsys.readouterr().out == "", "nothing lands under whatever cell runs meanwhile"
        server.print_new_lines()
        shown = capsys.readouterr().out
        assert " INFO connection from 127.0.0.1:" in shown and " in general: bonjour\n" in shown
    finally:
        await stop_all()
    assert started == f"listening on 127.0.0.1:{server.port}\n"
    stopped = capsys.readouterr().out.splitlines()
    assert stopped and re.fullmatch(r"\d\d:\d\d:\d\d INFO server stopped: server shutting down", stopped[-1])
    assert "bonjour" not in "\n".join(stopped), "only what stopping logged"
