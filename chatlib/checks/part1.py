"""Part I checks: counting with pauses, and downloading pages from the stand-in web site.

Shapes: `count(pause, show)` and `count_twice(pause, show)` (functions, then coroutines);
`get_content(url)` and `write_content(content, file)`; `download_all(urls, output_dir)`.
Blocking functions run in a thread of their own, so the checks' own event loop stays free.
The pages are the stand-in site's "exact" pages, which only a byte-for-byte copy reproduces.
"""

from __future__ import annotations

import asyncio
import inspect
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from chatlib.checks.isolation import current_watch, run_blocking
from chatlib.checks.locations import Spot
from chatlib.checks.report import Mismatch, shorten
from chatlib.checks.scenarios import Implementation, Scenario, Step
from chatlib.first_steps.standin_site import StandinSiteThread, exact_page_content

PAUSE = 0.02
ONE_COUNT = [str(number) for number in range(10)]
PAGE_DELAY = 0.3
PAGE_COUNT = 3
SHOWN_PAGE_CHARACTERS = 200


class Screen:
    """What `show` received, from any thread, in order."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def show(self, line: str) -> None:
        """What the code under test calls instead of print."""
        with self._lock:
            self.lines.append(str(line).strip())


async def call(function: Callable[..., Any], *arguments: Any) -> Any:
    """Call a student's function: in a thread of its own if it is a plain function, awaited if a coroutine."""
    if inspect.iscoroutinefunction(inspect.unwrap(function)):
        return await function(*arguments)
    result = await run_blocking(function, *arguments)
    if inspect.isawaitable(result):
        return await result
    return result


def needs_coroutine(function: Callable[..., Any], name: str) -> None:
    """Mismatch unless `function` is a coroutine function (defined with async def)."""
    if not inspect.iscoroutinefunction(inspect.unwrap(function)):
        raise Mismatch(f"{name} must be a coroutine function: define it with `async def`")


def timed_counts_problem(lines: list[str], expected: list[str], how: str) -> Mismatch:
    """The failure for counts that did not come out in the expected order."""
    return Mismatch(
        f"the numbers did not come out in the expected order ({how})",
        sent=f"two counts with pause={PAUSE}",
        expected=repr(expected),
        arrived=repr(lines) if lines else "nothing was shown",
        hint="" if lines else "show each number with the `show` parameter, show(str(number)), not print(...)",
    )


# --- Steps 1 and 2: sleep and print -------------------------------------------------------------


def counts_in_turn(keyword: str) -> Callable[[Implementation], Awaitable[None]]:
    """Two counts (`count` called twice, or `count_twice`) show 0 to 9 then 0 to 9, pausing each time."""

    async def scenario(given: Implementation) -> None:
        screen = Screen()
        started = time.perf_counter()
        if keyword == "count":
            await call(given["count"], PAUSE, screen.show)
            await call(given["count"], PAUSE, screen.show)
        else:
            await call(given["count_twice"], PAUSE, screen.show)
        elapsed = time.perf_counter() - started
        if screen.lines != ONE_COUNT * 2:
            raise timed_counts_problem(screen.lines, ONE_COUNT * 2, "0 to 9, then 0 to 9 again")
        if elapsed < 18 * PAUSE:
            raise Mismatch(
                "the counts did not pause after each number",
                sent=f"pause={PAUSE}",
                expected=f"about {20 * PAUSE:g} s (20 pauses)",
                arrived=f"{elapsed:.2f} s",
            )

    return scenario


def counts_overlap(keyword: str) -> Callable[[Implementation], Awaitable[None]]:
    """Two counts run by the event loop interleave: 0, 0, 1, 1, ... (nothing blocks the loop)."""

    async def scenario(given: Implementation) -> None:
        needs_coroutine(given[keyword], keyword)
        screen = Screen()
        started = time.perf_counter()
        watching_since = time.monotonic()
        if keyword == "count":
            await asyncio.gather(given["count"](PAUSE, screen.show), given["count"](PAUSE, screen.show))
        else:
            await given["count_twice"](PAUSE, screen.show)
        elapsed = time.perf_counter() - started
        interleaved = [number for number in ONE_COUNT for _ in range(2)]
        if screen.lines == ONE_COUNT * 2:
            watch = current_watch()
            assert watch is not None
            blocked_at = watch.blocking_spot(watching_since)
            blocked = blocked_at is not None or watch.blocked_seconds(watching_since) > elapsed / 2
            raise Mismatch(
                one_after_the_other(keyword, blocked, blocked_at),
                sent=f"two counts at once with pause={PAUSE}",
                expected=f"{interleaved!r} in about {10 * PAUSE:g} s",
                arrived=f"{screen.lines!r} in {elapsed:.2f} s",
            )
        if screen.lines != interleaved:
            raise timed_counts_problem(screen.lines, interleaved, "the two counts interleaved")

    return scenario


def one_after_the_other(keyword: str, blocked: bool, blocked_at: Spot | None) -> str:
    """Why two counts ran one after the other: a blocked loop (seen at `blocked_at`), or awaits in turn."""
    if keyword == "count_twice" and not blocked:
        return (
            "the two counts ran one after the other, and nothing blocked the event loop: count_twice "
            "awaits the first count before it starts the second; start both at once with "
            "`await asyncio.gather(count(pause, show), count(pause, show))`"
        )
    where = f", at {blocked_at}" if blocked_at is not None else ""
    return (
        f"the two counts ran one after the other: something blocks the event loop{where} "
        "(time.sleep() inside a coroutine?); use `await asyncio.sleep(pause)`"
    )


def sleep_steps() -> list[Step]:
    """Steps 1 and 2 of Part I."""
    sync = Step(
        "sleep_sync",
        "sleep and print, synchronous",
        {"count": ("count",), "count_twice": ("count_twice",)},
        [
            Scenario(
                "count shows 0 to 9, pausing after each number, twice in turn",
                ("count",),
                counts_in_turn("count"),
            ),
            Scenario(
                "count_twice runs the two counts one after the other",
                ("count_twice",),
                counts_in_turn("count_twice"),
            ),
        ],
    )
    asynchronous = Step(
        "sleep_async",
        "sleep and print, asynchronous",
        {"count": ("count",), "count_twice": ("count_twice",)},
        [
            Scenario(
                "two count coroutines gathered interleave (the loop is never blocked)",
                ("count",),
                counts_overlap("count"),
            ),
            Scenario(
                "count_twice interleaves its two counts", ("count_twice",), counts_overlap("count_twice")
            ),
        ],
    )
    return [sync, asynchronous]


# --- Steps 3 to 6: downloads ---------------------------------------------------------------------


@asynccontextmanager
async def standin_site() -> AsyncIterator[StandinSiteThread]:
    """The stand-in web site on a free port, served from its own thread (blocking code can call it)."""
    site = StandinSiteThread(port=0, pages=PAGE_COUNT, delay=0)
    await asyncio.to_thread(site.start)
    try:
        yield site
    finally:
        await asyncio.to_thread(site.stop)


TEXT_HINT = (
    "return the response's bytes (`response.content`, `await response.read()`), not its text: "
    "decoding guesses an encoding, and bytes that are not text do not survive it"
)


def as_bytes(content: Any, function_name: str) -> bytes:
    """The page content a student's function returned, as bytes (text is encoded as UTF-8)."""
    if isinstance(content, str):
        return content.encode(errors="surrogateescape")
    if isinstance(content, (bytes, bytearray)):
        return bytes(content)
    if content is None or content is Ellipsis:
        raise NotImplementedError
    raise Mismatch(f"{function_name} must return the page's bytes", arrived=repr(content))


def page_mismatch(url: str, expected: bytes, content: Any, problem: str) -> Mismatch:
    """The failure for a page whose bytes differ from the site's, with where they first differ."""
    arrived = as_bytes(content, "get_content")
    return Mismatch(
        problem,
        sent=f"GET {url}",
        expected=shorten(repr(expected), SHOWN_PAGE_CHARACTERS),
        arrived=shorten(
            f"text (a str): {content!r}" if isinstance(content, str) else repr(arrived), SHOWN_PAGE_CHARACTERS
        ),
        hint=TEXT_HINT if isinstance(content, str) else first_difference(expected, arrived),
    )


def first_difference(expected: bytes, arrived: bytes) -> str:
    """Where two byte strings first differ, shown around that place."""
    index = next(
        (i for i, (a, b) in enumerate(zip(expected, arrived)) if a != b), min(len(expected), len(arrived))
    )
    return (
        f"the first difference is at byte {index}: expected {expected[index:index + 16]!r}, "
        f"arrived {arrived[index:index + 16]!r}"
    )


def content_is_fetched(asynchronous: bool) -> Callable[[Implementation], Awaitable[None]]:
    """`get_content` returns a stand-in page byte for byte."""

    async def scenario(given: Implementation) -> None:
        if asynchronous:
            needs_coroutine(given["get_content"], "get_content")
        async with standin_site() as site:
            url = site.exact_page_urls()[1]
            content = await call(given["get_content"], url)
            if as_bytes(content, "get_content") != exact_page_content(2) or isinstance(content, str):
                raise page_mismatch(
                    url, exact_page_content(2), content, "get_content did not return the page byte for byte"
                )

    return scenario


def content_is_written(asynchronous: bool) -> Callable[[Implementation], Awaitable[None]]:
    """`write_content` replaces a file's content with exactly the bytes given."""

    async def scenario(given: Implementation) -> None:
        if asynchronous:
            needs_coroutine(given["write_content"], "write_content")
        content = exact_page_content(3)
        with tempfile.TemporaryDirectory(prefix="chatlib_check_") as folder:
            file = Path(folder) / "web_page"
            file.write_bytes(b"old content, to be replaced entirely" * 100)
            await call(given["write_content"], content, file)
            written = file.read_bytes()
        if written != content:
            raise Mismatch(
                "write_content did not write the content byte for byte (replacing what was there)",
                sent=f"write_content(<{len(content)} bytes>, {file.name!r})",
                expected=shorten(repr(content), SHOWN_PAGE_CHARACTERS),
                arrived=shorten(repr(written), SHOWN_PAGE_CHARACTERS),
                hint=(
                    "you wrote the bytes' repr, str(content): open the file in binary mode, 'wb', "
                    "and write the bytes themselves"
                    if written.startswith((b"b'", b'b"'))
                    else first_difference(content, written)
                ),
            )

    return scenario


async def downloads_overlap(given: Implementation) -> None:
    """Gathered get_content coroutines must wait for their pages at the same time."""
    needs_coroutine(given["get_content"], "get_content")
    async with standin_site() as site:
        urls = [f"{url}?delay={PAGE_DELAY}" for url in site.exact_page_urls()]
        started = time.perf_counter()
        await asyncio.gather(*(given["get_content"](url) for url in urls))
        elapsed = time.perf_counter() - started
    if elapsed > 2 * PAGE_DELAY:
        raise Mismatch(
            "get_content blocks the event loop: the downloads ran one after the other "
            "(requests or time.sleep inside a coroutine?); use aiohttp",
            sent=f"{len(urls)} get_content coroutines gathered, each page answered after {PAGE_DELAY:g} s",
            expected=f"about {PAGE_DELAY:g} s in all",
            arrived=f"{elapsed:.2f} s",
        )


def saved_pages_problem(output_dir: Path, urls: list[str]) -> Mismatch | None:
    """Why the pages are not all saved, each directly in `output_dir`, byte for byte; None if they are."""
    saved = {file: file.read_bytes() for file in output_dir.rglob("*") if file.is_file()}
    for number, url in enumerate(urls, start=1):
        expected = exact_page_content(number)
        files = [file for file, content in saved.items() if content == expected]
        if not files:
            found = ", ".join(str(file.relative_to(output_dir)) for file in saved) or "no file at all"
            return Mismatch(
                f"page {number} was not saved byte for byte",
                sent=f"GET {url}",
                expected=f"a file in the output folder holding {expected[:60]!r}...",
                arrived=found,
            )
        if all(file.parent != output_dir for file in files):
            return Mismatch(
                f"page {number} was saved in a sub-folder: a URL must become one file name, never a path",
                sent=f"GET {url}",
                expected="a file directly in the output folder",
                arrived=str(files[0].relative_to(output_dir)),
            )
    return None


def all_pages_are_saved(asynchronous: bool) -> Callable[[Implementation], Awaitable[None]]:
    """`download_all` saves every page directly in the output folder (and, async, all at once)."""

    async def scenario(given: Implementation) -> None:
        if asynchronous:
            needs_coroutine(given["download_all"], "download_all")
        async with standin_site() as site:
            urls = [f"{url}?delay={PAGE_DELAY}" for url in site.exact_page_urls()]
            with tempfile.TemporaryDirectory(prefix="chatlib_check_") as folder:
                output_dir = Path(folder) / "pages"
                output_dir.mkdir()
                started = time.perf_counter()
                await call(given["download_all"], urls, output_dir)
                elapsed = time.perf_counter() - started
                problem = saved_pages_problem(output_dir, urls)
        if problem is not None:
            raise problem
        if asynchronous and elapsed > 2 * PAGE_DELAY:
            raise Mismatch(
                "the downloads did not overlap: use asyncio.gather() and aiohttp",
                sent=f"{len(urls)} URLs, each page answered after {PAGE_DELAY:g} s",
                expected=f"about {PAGE_DELAY:g} s in all",
                arrived=f"{elapsed:.2f} s",
            )

    return scenario


def download_steps() -> list[Step]:
    """Steps 3 to 6 of Part I."""
    names = {"get_content": ("get_content",), "write_content": ("write_content",)}
    web_sync = Step(
        "web_sync",
        "one page, synchronous",
        names,
        [
            Scenario(
                "get_content returns the page byte for byte", ("get_content",), content_is_fetched(False)
            ),
            Scenario("write_content writes the bytes exactly", ("write_content",), content_is_written(False)),
        ],
    )
    web_async = Step(
        "web_async",
        "one page, asynchronous",
        names,
        [
            Scenario(
                "get_content (a coroutine) returns the page byte for byte",
                ("get_content",),
                content_is_fetched(True),
            ),
            Scenario(
                "get_content never blocks the event loop: downloads overlap",
                ("get_content",),
                downloads_overlap,
            ),
            Scenario(
                "write_content (a coroutine) writes the bytes exactly",
                ("write_content",),
                content_is_written(True),
            ),
        ],
    )
    multiple = {"download_all": ("download_all",)}
    web_sync_multiple = Step(
        "web_sync_multiple",
        "many pages, one after the other",
        multiple,
        [
            Scenario(
                "download_all saves every page in the output folder",
                ("download_all",),
                all_pages_are_saved(False),
            ),
        ],
    )
    web_async_multiple = Step(
        "web_async_multiple",
        "many pages at once",
        multiple,
        [
            Scenario(
                "download_all saves every page, all downloads overlapping",
                ("download_all",),
                all_pages_are_saved(True),
            ),
        ],
    )
    return [web_sync, web_async, web_sync_multiple, web_async_multiple]
