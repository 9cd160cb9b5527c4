"""Part I checks: bytes, not text; sequential awaits told from a blocked loop; names a later cell rebound."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from chatlib.checks import Status, check
from chatlib.checks.locations import Spot
from chatlib.checks.loop_watch import LoopWatch
from chatlib.first_steps.standin_site import StandinSiteThread, exact_page_content
from tests.checks.helpers import broken, check_one, correct, failed_names, failure_text

COUNT_TWICE_OVERLAP = "count_twice interleaves its two counts"


def test_an_exact_page_survives_only_a_byte_for_byte_copy() -> None:
    import requests

    with StandinSiteThread(port=0, pages=2, delay=0) as site:
        response = requests.get(site.exact_page_urls()[1], timeout=10)
    assert response.content == exact_page_content(2)
    assert response.text.encode() != exact_page_content(2)
    assert b"\r\n" in exact_page_content(2) and b"\xff" in exact_page_content(2)


async def test_text_instead_of_bytes_fails_web_sync() -> None:
    report = await check("web_sync", show=None, **broken("text_web_sync.py", "web_sync"))
    assert failed_names(report) == [
        "get_content returns the page byte for byte",
        "write_content writes the bytes exactly",
    ]
    fetched = failure_text(report, "get_content returns the page byte for byte")
    assert "arrived:  text (a str): 'Page exacte n" in fetched
    assert (
        "hint:     return the response's bytes (`response.content`, `await response.read()`), not its text"
        in fetched
    )
    written = failure_text(report, "write_content writes the bytes exactly")
    assert "raised UnicodeDecodeError" in written
    assert (
        "at tests/checks/broken/text_web_sync.py, line 12, in write_content: output.write(content.decode())"
        in written
    )


async def test_text_instead_of_bytes_fails_web_async() -> None:
    report = await check("web_async", show=None, **broken("text_web_async.py", "web_async"))
    assert failed_names(report) == [
        "get_content (a coroutine) returns the page byte for byte",
        "write_content (a coroutine) writes the bytes exactly",
    ]
    written = failure_text(report, "write_content (a coroutine) writes the bytes exactly")
    assert "hint:     the first difference is at byte 111: expected b'\\xff\\xfe\\x80" in written


@pytest.mark.parametrize(
    ("file", "step"), [("bytes_web.py", "web_sync"), ("bytes_web_async.py", "web_async")]
)
async def test_byte_exact_downloads_written_differently_pass(file: str, step: str) -> None:
    report = await check(step, show=None, **correct(file, step))
    assert report.passed and not report.count(Status.NOT_GIVEN), report.text()


async def test_sequential_awaits_in_count_twice_are_told_apart_from_a_blocked_loop() -> None:
    report = await check("sleep_async", show=None, **broken("sequential_count_twice.py", "sleep_async"))
    assert failed_names(report) == [COUNT_TWICE_OVERLAP]
    text = failure_text(report, COUNT_TWICE_OVERLAP)
    assert "the two counts ran one after the other, and nothing blocked the event loop" in text
    assert "count_twice awaits the first count before it starts the second" in text
    assert "time.sleep" not in text


async def test_a_short_blocking_sleep_is_named_at_its_line() -> None:
    report = await check("sleep_async", show=None, **broken("blocking_count.py", "sleep_async"))
    text = failure_text(report, COUNT_TWICE_OVERLAP)
    assert (
        "something blocks the event loop, at tests/checks/broken/blocking_count.py, line 14, in count" in text
    )
    assert "time.sleep(pause)" in text


async def test_count_twice_with_tasks_passes() -> None:
    report = await check("sleep_async", show=None, **correct("tasks_count.py", "sleep_async"))
    assert report.passed and report.count(Status.PASS) == 2, report.text()


async def test_a_name_a_later_cell_rebound_to_an_int_is_said_plainly() -> None:
    report = await check("sleep_sync", show=None, count=3, count_twice=None)
    text = failure_text(report, "count shows 0 to 9, pausing after each number, twice in turn")
    assert (
        "`count` is now an int (3), not your function: a later cell rebound the name (a loop variable?)"
        in text
    )
    assert "TypeError" not in report.text()


async def test_a_function_calling_a_rebound_name_is_said_plainly() -> None:
    namespace: dict[str, Any] = {}
    exec(  # as a notebook cell defines them, in the kernel's one namespace
        "import time\n"
        "def count(pause, show):\n"
        "    for n in range(10):\n"
        "        show(str(n))\n"
        "        time.sleep(pause)\n"
        "def count_twice(pause, show):\n"
        "    count(pause, show)\n"
        "    count(pause, show)\n",
        namespace,
    )
    count_twice: Callable[..., Any] = namespace["count_twice"]
    namespace["count"] = 2  # a later cell: `for count in range(3): ...`
    report = await check("sleep_sync", show=None, count_twice=count_twice)
    text = failure_text(report, "count_twice runs the two counts one after the other")
    assert "count_twice calls `count`, which is now an int (2): a later cell rebound the name" in text
    assert "TypeError" not in text
    assert asyncio.iscoroutinefunction(check)


async def test_requests_inside_a_coroutine_is_named_at_its_line() -> None:
    import requests

    async def get_content(url: str) -> bytes:
        return requests.get(url, timeout=10).content  # blocks the event loop

    result = await check_one(
        "web_async", "get_content never blocks the event loop: downloads overlap", get_content=get_content
    )
    assert result.status is Status.FAIL
    text = result.text()
    assert "note:     the event loop was blocked " in text
    assert "in get_content: return requests.get(url, timeout=10).content  # blocks the event loop" in text
    assert "a blocking network call (requests, socket) stops the whole event loop: use aiohttp" in text


def test_a_blocked_line_is_named_with_the_call_it_was_most_often_inside() -> None:
    """A sample that caught the line between two calls does not hide the blocking call (requests)."""
    watch = LoopWatch()
    in_requests = Spot("student.py", 7, "get_content", "return requests.get(url).content", "requests.api.get")
    between_calls = dataclasses.replace(in_requests, inside="")
    watch.busy_samples = [(1.0, in_requests), (2.0, in_requests), (3.0, in_requests), (4.0, between_calls)]
    assert watch.blocking_spot(since=0.0) == in_requests
    watch.busy_samples = [(1.0, between_calls)] * 3
    assert watch.blocking_spot(since=0.0) == between_calls
