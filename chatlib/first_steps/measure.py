"""Step 7: time the synchronous and the asynchronous multiple downloads on the same pages.

The pages are those of a URL list file (`--urls FILE`, such as examples/real_urls.txt when
online), or of a stand-in site: one already running (`--base-url`), else one it serves itself
(in a thread, on a free port). The synchronous run also times each page alone, which gives the
ideals: the sum of the pages for sync, the slowest single page for async.

    python -m chatlib.first_steps.measure [--pages 10] [--delay 0.5] [--sync-pages N] [--base-url URL]
    python -m chatlib.first_steps.measure --urls FILE [--sync-pages N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from chatlib.first_steps import web_async_multiple, web_sync_multiple
from chatlib.first_steps.downloads import DownloadOutcome, printable
from chatlib.first_steps.standin_site import DEFAULT_DELAY_SECONDS, StandinSiteThread, page_urls
from chatlib.first_steps.url_files import UrlList, read_url_list

DEFAULT_PAGES = 10


@dataclass(frozen=True)
class Measurement:
    """Times, in seconds, of one sync/async comparison on `pages` pages."""

    pages: int
    sync_pages: int
    sync_seconds: float
    async_seconds: float
    page_seconds: list[float]

    @property
    def sync_ideal(self) -> float:
        """The sum of the single-page times, scaled to all the pages if sync ran on fewer."""
        return sum(self.page_seconds) * self.pages / self.sync_pages

    @property
    def async_ideal(self) -> float:
        """The slowest single page: all pages at once can't finish sooner."""
        return max(self.page_seconds)

    @property
    def sync_estimated(self) -> float:
        """The sync time for all the pages (scaled up if sync ran on fewer)."""
        return self.sync_seconds * self.pages / self.sync_pages


class DownloadFailed(Exception):
    """A page failed during a measurement, which would make its times meaningless."""


def check(outcomes: list[DownloadOutcome]) -> None:
    """Raise DownloadFailed on the first failed download."""
    for outcome in outcomes:
        if outcome.error is not None:
            raise DownloadFailed(f"{outcome.url}: {outcome.error}")


def time_sync(urls: list[str], output_dir: Path) -> list[float]:
    """Download the pages one after the other, returning each one's time."""
    page_seconds = []
    for url in urls:
        started = time.perf_counter()
        check(web_sync_multiple.download_all([url], output_dir))
        page_seconds.append(time.perf_counter() - started)
    return page_seconds


async def time_async(urls: list[str], output_dir: Path) -> float:
    """Download the pages all at once, returning the total time."""
    started = time.perf_counter()
    check(await web_async_multiple.download_all(urls, output_dir))
    return time.perf_counter() - started


async def measure(urls: list[str], sync_pages: int | None = None) -> Measurement:
    """Time the sync download of the first `sync_pages` URLs (all by default), then the async one of all.

    The sync part runs in a worker thread so that, in a notebook, it doesn't block the kernel's loop.
    """
    sync_pages = len(urls) if sync_pages is None else sync_pages
    with tempfile.TemporaryDirectory(prefix="measure_") as folder:
        page_seconds = await asyncio.to_thread(time_sync, urls[:sync_pages], Path(folder) / "sync")
        async_seconds = await time_async(urls, Path(folder) / "async")
    return Measurement(len(urls), sync_pages, sum(page_seconds), async_seconds, page_seconds)


def describe(measurement: Measurement) -> list[str]:
    """The printout of a measurement: both times, their ideals and the ratios, as a small table."""
    m = measurement
    estimated = f"  (timed on {m.sync_pages} pages, scaled up)" if m.sync_pages < m.pages else ""
    return [
        "              pages   time (s)   ideal (s)   ratio",
        f"synchronous   {m.pages:5d}   {m.sync_estimated:8.2f}   {m.sync_ideal:9.2f}   "
        f"{m.sync_estimated / m.sync_ideal:5.2f}   ideal: the sum of the single pages{estimated}",
        f"asynchronous  {m.pages:5d}   {m.async_seconds:8.2f}   {m.async_ideal:9.2f}   "
        f"{m.async_seconds / m.async_ideal:5.2f}   ideal: the slowest single page",
        f"async was {m.sync_estimated / m.async_seconds:.1f}x faster than sync",
    ]


def run(arguments: argparse.Namespace, url_list: UrlList | None, show: Callable[[str], None]) -> None:
    """Take the file's URLs, or serve the site unless given one; measure, and show the results."""
    with ExitStack() as stack:
        if url_list is not None:
            for line in url_list.bad_lines:
                show(printable(f"skipped {line}"))
            urls = url_list.urls
            show(f"{len(urls)} URLs from {arguments.urls}")
        else:
            base_url = arguments.base_url
            if base_url is None:
                site = stack.enter_context(
                    StandinSiteThread(port=0, pages=arguments.pages, delay=arguments.delay)
                )
                base_url = site.base_url
                show(f"Stand-in web site on {base_url}: {arguments.pages} pages of {arguments.delay:g} s")
            urls = page_urls(base_url if base_url.endswith("/") else base_url + "/", arguments.pages)
        for line in describe(asyncio.run(measure(urls, arguments.sync_pages))):
            show(line)


def read_urls_option(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> UrlList:
    """The URLs of the `--urls` file; a usage error if it is missing or lists none, or with `--pages`."""
    if arguments.pages is not None:
        parser.error("--pages counts a stand-in site's pages: with --urls, the file decides")
    if not arguments.urls.is_file():
        parser.error(f"no such file: {arguments.urls}")
    url_list = read_url_list(arguments.urls)
    if not url_list.urls:
        parser.error(f"no URL to measure in {arguments.urls}")
    return url_list


def main(argv: list[str] | None = None, show: Callable[[str], None] = print) -> int:
    """Parse the options, measure, and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, help=f"how many pages of the site (default {DEFAULT_PAGES})")
    parser.add_argument("--delay", type=float, default=DEFAULT_DELAY_SECONDS,
                        help=f"seconds each page takes on the site measure starts (default {DEFAULT_DELAY_SECONDS})")
    parser.add_argument("--sync-pages", type=int, metavar="N",
                        help="time sync on only the first N pages and scale up (default: all)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--base-url", help="measure an already running stand-in site instead of starting one")
    source.add_argument("--urls", type=Path, metavar="FILE",
                        help="measure the URLs listed in FILE, one a line (# starts a comment)")
    arguments = parser.parse_args(argv)
    url_list = None if arguments.urls is None else read_urls_option(arguments, parser)
    if arguments.pages is None:
        arguments.pages = DEFAULT_PAGES if url_list is None else len(url_list.urls)
    if arguments.pages < 1:
        parser.error("--pages must be at least 1")
    if arguments.sync_pages is not None and not 1 <= arguments.sync_pages <= arguments.pages:
        parser.error(f"--sync-pages must be between 1 and the number of pages ({arguments.pages})")
    if arguments.delay < 0:
        parser.error("--delay must be zero or more")
    try:
        run(arguments, url_list, show)
    except DownloadFailed as error:
        print(f"error: a download failed, so the times mean nothing: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
