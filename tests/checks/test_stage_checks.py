"""Part II checks: CLIENTS, bad first messages, the ii_2 client, the hints, what a screen shows."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from chatlib.checks import Status, check
from tests.checks.helpers import broken, check_one, correct, failed_names, failure_text, statuses

CLIENTS_II_4 = "server keeps each client once in CLIENTS, keyed by (IP, port), with 'r' and 'w'"
CLIENTS_II_5 = "server keeps each client once in CLIENTS, with 'r', 'w' and 'pseudo'"
CLIENTS_II_6 = "server keeps each client in CLIENTS while connected, and removes it when it leaves"
NOT_HELLO = "server survives a bad first message (not Hello|PSEUDO): the others carry on"
EMPTY_PSEUDO = "server survives a bad first message (Hello| with an empty pseudo): the others carry on"
CLOSED_AT_ONCE = (
    "server survives a bad first message (none, the connection closes at once): the others carry on"
)
SHOWS_WHILE_WAITING = "client shows the server's lines while the user types nothing"
SENDS_TYPED = "client sends what the user types"


async def test_a_global_list_of_writers_instead_of_clients_fails_ii_4() -> None:
    report = await check("ii_4", show=None, **broken("list_clients_server.py", "ii_4"))
    assert failed_names(report) == [CLIENTS_II_4]
    text = failure_text(report, CLIENTS_II_4)
    assert (
        "your server's module has no CLIENTS: keep the connected clients in a module-level dict CLIENTS"
        in text
    )
    assert "expected: CLIENTS holding {('127.0.0.1', " in text


async def test_clients_keyed_by_a_string_fails_with_the_tuple_asked_for() -> None:
    report = await check("ii_5", show=None, **broken("string_key_server.py", "ii_5"))
    assert failed_names(report) == [CLIENTS_II_5]
    text = failure_text(report, CLIENTS_II_5)
    assert "CLIENTS must be keyed by the (IP, port) tuple, such as ('127.0.0.1', " in text
    assert "arrived:  CLIENTS = {'127.0.0.1:" in text


async def test_a_client_left_in_clients_fails_ii_6_and_its_writes_are_counted_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        report = await check("ii_6", show=None, **broken("stale_clients_server.py", "ii_6"))
    assert failed_names(report) == [CLIENTS_II_6]
    text = failure_text(report, CLIENTS_II_6)
    assert "left, but is still in CLIENTS: remove it when it goes" in text
    assert "'pseudo': 'bob'}}" in text and "entries of earlier connections" in text
    assert "times to a connection already closed (is a client that left still in CLIENTS?)" in text
    assert not [record for record in caplog.records if "socket.send() raised exception" in record.message]


async def test_a_server_skipping_the_hello_check_fails_the_bad_first_messages() -> None:
    report = await check("ii_5", show=None, **broken("no_hello_check_server.py", "ii_5"))
    assert failed_names(report) == [NOT_HELLO, EMPTY_PSEUDO, CLOSED_AT_ONCE]
    text = failure_text(report, NOT_HELLO)
    assert "the server announced a client whose first message was not a valid Hello|PSEUDO" in text
    assert "sent b'Salut|mallory' first" in text
    assert "arrived:  'Annonce : mallory a rejoint la chatroom'" in text
    assert "arrived:  'Annonce :  a rejoint la chatroom'" in failure_text(report, EMPTY_PSEUDO)


@pytest.mark.parametrize(
    ("file", "step"),
    [("set_server_ii_6.py", "ii_6"), ("patient_hello_server.py", "ii_5"), ("set_server_ii_3.py", "ii_3")],
)
async def test_correct_servers_written_differently_pass(file: str, step: str) -> None:
    report = await check(step, show=None, **correct(file, step))
    assert report.passed, report.text()
    assert report.count(Status.PASS) == len(report.results) - report.count(Status.NOT_GIVEN)


async def test_the_reference_servers_keep_clients_as_the_lab_sheet_says() -> None:
    from tests.student.references import reference

    for stage, scenario in (("ii_4", CLIENTS_II_4), ("ii_5", CLIENTS_II_5), ("ii_6", CLIENTS_II_6)):
        report = await check(stage, show=None, server=reference(stage)["server"])
        assert statuses(report)[scenario] is Status.PASS, report.text()


async def test_an_async_say_hello_at_ii_2_is_refused() -> None:
    report = await check("ii_2", show=None, **broken("async_say_hello.py", "ii_2"))
    text = failure_text(report, "client sends Hello and shows the server's answer")
    assert (
        "say_hello must be a plain function: at ii_2 the client is a blocking socket, nothing async yet"
        in text
    )
    assert "arrived:  async def say_hello(...)" in text


async def test_a_socket_ii_2_written_differently_passes() -> None:
    report = await check("ii_2", show=None, **correct("socket_ii_2.py", "ii_2"))
    assert report.passed and report.count(Status.PASS) == 4, report.text()


async def test_a_client_tidying_its_display_with_control_codes_passes() -> None:
    report = await check("ii_6", show=None, **correct("tidy_client.py", "ii_6"))
    assert report.passed and report.count(Status.PASS) == 4, report.text()


async def test_a_client_that_takes_turns_gets_a_hint_in_both_directions() -> None:
    report = await check("ii_3", show=None, **broken("alternating_client.py", "ii_3"))
    assert failed_names(report) == [SHOWS_WHILE_WAITING, SENDS_TYPED]
    showing = failure_text(report, SHOWS_WHILE_WAITING)
    assert "arrived:  on the screen: 'Hello 127.0.0.1:" in showing
    assert (
        "hint:     your client waits for the keyboard and meanwhile does not read what the server sends"
        in showing
    )
    sending = failure_text(report, SENDS_TYPED)
    assert (
        "hint:     your client is waiting for the server and meanwhile does not read the keyboard" in sending
    )


async def test_the_announcement_hint_says_only_what_is_missing() -> None:
    async def handle_client(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show: Any = print
    ) -> None:
        """Announces a newcomer to the others only: the newcomer never hears its own announcement."""
        await reader.read(1024)  # takes the Hello|PSEUDO, announces nothing
        await reader.read(1024)

    result = await check_one(
        "ii_5", "server announces 'Annonce : PSEUDO a rejoint la chatroom' to everyone", handler=handle_client
    )
    assert result.status is Status.FAIL
    text = result.text()
    assert "hint:     the newcomer hears its own announcement too: send it to every client in CLIENTS" in text
    assert "readline" not in text


async def test_a_server_waiting_for_a_newline_is_told_where() -> None:
    async def handle_client(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show: Any = print
    ) -> None:
        hello = await reader.readline()
        writer.write(f"Hello {hello}\n".encode())

    result = await check_one("ii_2", "server answers Hello with the client's IP:port", handler=handle_client)
    assert result.status is Status.FAIL
    text = result.text()
    assert "hint:     your server is waiting at tests/checks/test_stage_checks.py, line" in text
    assert "in handle_client: hello = await reader.readline() for more bytes (a newline?)" in text


async def test_an_error_meanwhile_points_to_the_students_line_not_into_asyncio() -> None:
    CLIENTS: dict[tuple[str, int], dict[str, Any]] = {}

    async def handle_client(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show: Any = print
    ) -> None:
        address = writer.get_extra_info("peername")[:2]
        CLIENTS[address] = {"r": reader, "w": writer}
        await reader.read(1024)
        writer.write(f"Hello {address[0]}:{address[1]}\n".encode())
        while data := await reader.read(1024):
            for other, client in CLIENTS.items():
                if other != address:
                    client["w"].write(f"{address[0]}:{address[1]} a dit : {data.decode()}\n".encode())
        del CLIENTS[address]
        await reader.readexactly(1)  # the bug: raises IncompleteReadError once the client has left

    report = await check("ii_4", show=None, handler=handle_client)
    (result,) = [
        result for result in report.results if result.name == "server goes on relaying after a client left"
    ]
    assert result.status is Status.PASS
    assert result.details[0] == (
        "meanwhile your code raised IncompleteReadError: 0 bytes read on a total of 1 expected bytes"
    )
    assert result.details[1].startswith("at tests/checks/test_stage_checks.py, line ")
    assert result.details[1].endswith(
        "in handle_client: await reader.readexactly(1)  # the bug: raises IncompleteReadError once the client "
        "has left (inside asyncio.streams.readexactly)"
    )


CLIENTS: dict[Any, dict[str, Any]] = {}
"""The module-level dict of the handler below (the checks look for CLIENTS in the handler's module)."""


async def test_a_client_added_twice_is_caught() -> None:
    async def handle_client(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show: Any = print
    ) -> None:
        """Keeps each client by address, and once more by its arrival number (the bug)."""
        address = writer.get_extra_info("peername")[:2]
        CLIENTS[address] = CLIENTS[len(CLIENTS)] = {"r": reader, "w": writer}
        await reader.read(1024)
        writer.write(f"Hello {address[0]}:{address[1]}\n".encode())
        await reader.read(1024)

    result = await check_one("ii_4", CLIENTS_II_4, handler=handle_client)
    assert result.status is Status.FAIL
    assert "is in CLIENTS 2 times (('127.0.0.1', " in result.text()
    assert "): add it once" in result.text()


async def test_a_say_hello_running_asyncio_inside_is_refused_too() -> None:
    report = await check("ii_2", show=None, **broken("asyncio_run_say_hello.py", "ii_2"))
    text = failure_text(report, "client sends Hello and shows the server's answer")
    assert "say_hello must use a plain socket: at ii_2 there is nothing async yet" in text
    assert "arrived:  say_hello uses asyncio" in text


async def test_clients_keyed_by_pseudo_or_with_other_keys_are_named() -> None:
    async def keyed_by_pseudo(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show: Any = print
    ) -> None:
        pseudo = (await reader.read(1024)).decode().removeprefix("Hello|")
        CLIENTS.clear()  # this test's handler and the next share the module's CLIENTS
        CLIENTS[pseudo] = {"r": reader, "w": writer, "pseudo": pseudo}
        writer.write(f"Annonce : {pseudo} a rejoint la chatroom\n".encode())
        await reader.read(1024)

    result = await check_one("ii_5", CLIENTS_II_5, handler=keyed_by_pseudo)
    assert "CLIENTS must be keyed by the (IP, port) tuple, such as ('127.0.0.1', " in result.text()
    assert "not 'alice'" in result.text()

    async def long_names(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, show: Any = print
    ) -> None:
        address = writer.get_extra_info("peername")[:2]
        CLIENTS.clear()
        CLIENTS[address] = {"reader": reader, "writer": writer}
        await reader.read(1024)
        writer.write(f"Hello {address[0]}:{address[1]}\n".encode())
        await reader.read(1024)

    result = await check_one("ii_4", CLIENTS_II_4, handler=long_names)
    assert "['r'] must be the client's StreamReader (its keys: 'reader', 'writer')" in result.text()
