"""Step 6: download every page of a URL list concurrently, with `aiohttp` and `asyncio.gather`.

One coroutine per URL, all started at once: the total time is about that of the
slowest page, not the sum. Each coroutine turns its own failure into an outcome,
so one bad URL never loses the others.

    python -m chatlib.first_steps.web_async_multiple URLS_FILE [--output-dir DIR]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp

from chatlib.first_steps.downloads import DownloadError, DownloadOutcome, parse_multiple_arguments, report
from chatlib.first_steps.url_files import file_for_url, read_url_list
from chatlib.first_steps.web_async import get_content, write_content

# aiohttp opens at most 100 connections per session by default; more lets the course's
# 100-page measurement overlap fully while staying well below the usual open-file limits.
MAX_CONNECTIONS = 200


async def download_one(url: str, output_dir: Path, session: aiohttp.ClientSession) -> DownloadOutcome:
    """Fetch and save one page, turning any failure into an outcome instead of an exception."""
    file = file_for_url(url, output_dir)
    try:
        await write_content(await get_content(url, session), file)
    except DownloadError as error:
        return DownloadOutcome(url, error=error.reason)
    except OSError as error:
        return DownloadOutcome(url, error=f"cannot write {file}: {error.strerror}")
    return DownloadOutcome(url, file=file)


async def download_all(urls: list[str], output_dir: Path) -> list[DownloadOutcome]:
    """Download all the pages at once, sharing one session's connection pool."""
    output_dir.mkdir(parents=True, exist_ok=True)
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:
        return await asyncio.gather(*(download_one(url, output_dir, session) for url in urls))


def main(argv: list[str] | None = None) -> int:
    """Download every URL of the list file named on the command line."""
    arguments = parse_multiple_arguments(argv, __doc__)
    try:
        url_list = read_url_list(arguments.urls_file)
        outcomes = asyncio.run(download_all(url_list.urls, arguments.output_dir))
    except OSError as error:
        print(f"error: {error.filename}: {error.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return report(outcomes, url_list.bad_lines)


if __name__ == "__main__":
    sys.exit(main())
