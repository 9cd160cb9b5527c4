"""Every check fails, with the right message, on a deliberately broken implementation."""

from __future__ import annotations

from typing import Any

import pytest

from chatlib.checks import CheckFailed, Status, check
from tests.checks.helpers import broken, failure_text, statuses
from tests.student.references import reference


async def test_the_sender_getting_its_own_message_back_is_caught() -> None:
    report = await check("ii_4", show=None, **broken("echo_server.py", "ii_4"))
    assert [r.name for r in report.failures] == ["server never sends a message back to its sender"]
    text = failure_text(report, "server never sends a message back to its sender")
    assert "got its own message back" in text
    assert "sent 'salut'" in text
    assert " a dit : salut\\n'" in text  # what arrived, as bytes
    assert not report.passed


async def test_a_missing_space_before_the_colon_is_shown_byte_for_byte() -> None:
    report = await check("ii_4", show=None, **broken("no_space_server.py", "ii_4"))
    text = failure_text(report, "server relays 'IP:Port a dit : msg' to every other client")
    expected_line = next(line for line in text.splitlines() if "expected:" in line)
    arrived_line = next(line for line in text.splitlines() if "arrived:" in line)
    assert expected_line.endswith(" a dit : salut\\n'")
    assert arrived_line.endswith(" a dit: salut\\n'")
    assert statuses(report)["server answers Hello with the client's IP:port"] is Status.PASS


async def test_a_missing_leave_announcement_is_caught() -> None:
    report = await check("ii_6", show=None, **broken("no_leave_server.py", "ii_6"))
    assert [r.name for r in report.failures][:2] == [
        "server announces 'Annonce : PSEUDO a quitté la chatroom' when a client leaves",
        "server announces the departure of a client whose connection broke",
    ]  # (it skips the Hello| check too: the bad first messages fail, tested elsewhere)
    text = failure_text(report, report.failures[0].name)
    assert "expected: b'Annonce : bob a quitt\\xc3\\xa9 la chatroom\\n'" in text
    assert "arrived:  nothing arrived within 0.5 s" in text
    assert "bob (127.0.0.1:" in text and "closed its connection" in text


async def test_a_blocking_sleep_in_a_coroutine_is_caught() -> None:
    report = await check("sleep_async", show=None, **broken("blocking_count.py", "sleep_async"))
    assert len(report.failures) == 2
    text = failure_text(report, "two count coroutines gathered interleave (the loop is never blocked)")
    assert "time.sleep() inside a coroutine?" in text
    assert "expected: ['0', '0', '1', '1'," in text
    assert "arrived:  ['0', '1', '2', '3'," in text


async def test_reading_fixed_1024_byte_chunks_fails_the_framing_check() -> None:
    given = broken("chunked_reader.py", "protocol")
    report = await check("protocol", show=None, read_frame=given["read_frame"])
    assert statuses(report)["a client reads whole frames from TCP (framing)"] is Status.FAIL
    text = failure_text(report, "a client reads whole frames from TCP (framing)")
    assert "a fixed read(1024) loses glued frames" in text
    assert "Message(time_ms=1764000000001, pseudo='alice'" in text  # expected and lost
    # The reference encoder and decoder pass the other scenarios given with it:
    full = await check(
        "protocol", show=None, **{**reference("protocol"), "link": None, "read_frame": given["read_frame"]}
    )
    assert [r.name for r in full.failures] == ["a client reads whole frames from TCP (framing)"]


async def test_a_client_that_reads_only_after_typing_is_caught() -> None:
    report = await check("ii_4", show=None, **broken("typed_first_client.py", "ii_4"))
    text = failure_text(report, "client shows the server's lines while the user types nothing")
    assert "expected: 'Hello 127.0.0.1:" in text
    assert "arrived:  nothing within 0.5 s" in text


async def test_skeletons_are_not_implemented_yet_and_never_raise_even_in_strict_mode() -> None:
    report = await check("ii_4", strict=True, show=None, **broken("skeletons.py", "ii_4"))
    assert set(statuses(report).values()) == {Status.NOT_IMPLEMENTED}
    assert report.passed
    assert report.summary() == (
        "Checks for ii_4 (a working chat): 0 passed, 0 failed, 8 not implemented yet (to write: run_client, start_server)"
    )


async def test_a_body_raising_not_implemented_at_run_time_is_not_implemented_yet() -> None:
    async def start_server(host: str, port: int, show: Any) -> Any:
        if host:
            raise NotImplementedError("my server")
        return None

    report = await check("ii_3", show=None, server=start_server)
    assert statuses(report)["server answers Hello with the client's IP:port"] is Status.NOT_IMPLEMENTED


async def test_strict_mode_raises_an_assertion_error_carrying_the_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown: list[str] = []
    with pytest.raises(AssertionError) as raised:
        await check("ii_4", strict=True, show=shown.append, **broken("echo_server.py", "ii_4"))
    assert isinstance(raised.value, CheckFailed)
    assert "got its own message back" in str(raised.value)
    assert shown == [raised.value.report.text()]  # printed first, then raised
    monkeypatch.setenv("CHATLIB_CHECKS_STRICT", "1")
    with pytest.raises(CheckFailed):
        await check("ii_4", show=None, **broken("echo_server.py", "ii_4"))
    assert (await check("ii_4", show=None, strict=False, **broken("echo_server.py", "ii_4"))).passed is False


async def test_the_report_says_pass_per_scenario_and_counts_them() -> None:
    shown: list[str] = []
    report = await check("ii_5", show=shown.append, **reference("ii_5"))
    assert report.passed
    assert shown[0].splitlines()[0] == "Checks for ii_5 (pseudos): 12 passed, 0 failed"
    assert (
        shown[0].splitlines()[1]
        == "  PASS                server announces 'Annonce : PSEUDO a rejoint la chatroom' to everyone"
    )


async def test_a_wrong_step_or_keyword_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no step 'ii_9'; the steps are: sleep_sync"):
        await check("ii_9")
    with pytest.raises(TypeError, match=r"check\('ii_4'\) takes server=, handler=, client=, not srv"):
        await check("ii_4", srv=print)


async def test_an_exception_raised_in_the_students_handler_is_shown_in_the_report() -> None:
    async def handle_client(reader: Any, writer: Any, show: Any = print) -> None:
        await reader.read(1024)
        writer.write(f"Hello {adress}\n".encode())  # type: ignore[name-defined]  # noqa: F821 (the bug)

    report = await check("ii_2", show=None, handler=handle_client)
    text = failure_text(report, "server answers Hello with the client's IP:port")
    assert "arrived:  nothing: the connection was closed" in text
    assert "meanwhile your code raised NameError: name 'adress' is not defined" in text
    assert "test_broken.py, line" in text and "in handle_client" in text
