"""Step 4: the same download as coroutines, with `aiohttp` for HTTP and `aiofiles` for the file.

While a coroutine awaits the network or the disk, the event loop can run others.
No gather here: writing needs the content, so the two awaits run one after the other.

    python -m chatlib.first_steps.web_async URL [-o FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import aiofiles
import aiohttp

from chatlib.first_steps.downloads import DEFAULT_TIMEOUT_SECONDS, DownloadError, printable
from chatlib.first_steps.web_sync import DEFAULT_OUTPUT_FILE


async def get_content(url: str, session: aiohttp.ClientSession | None = None,
                      timeout: float = DEFAULT_TIMEOUT_SECONDS) -> bytes:
    """The body of the page at `url`; DownloadError if it can't be fetched or the server answers an error.

    Pass a `session` to share its connections between many downloads; without one, a
    session is opened just for this page.
    """
    if session is None:
        async with aiohttp.ClientSession() as own_session:
            return await get_content(url, own_session, timeout)
    try:
        async with session.get(url, raise_for_status=True,
                               timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            return await response.read()
    except aiohttp.ClientResponseError as error:
        raise DownloadError(url, f"HTTP {error.status} {error.message}") from error
    except TimeoutError as error:
        raise DownloadError(url, f"no answer within {timeout:g} s") from error
    except aiohttp.ClientConnectionError as error:
        raise DownloadError(url, "could not connect") from error
    except (aiohttp.ClientError, ValueError) as error:
        raise DownloadError(url, f"bad request ({error})") from error


async def write_content(content: bytes, file: Path) -> None:
    """Write `content` to `file`, replacing what was there, without blocking the event loop."""
    async with aiofiles.open(file, "wb") as output:
        await output.write(content)


async def download(url: str, file: Path) -> None:
    """Fetch the page, then save it."""
    content = await get_content(url)
    await write_content(content, file)


def main(argv: list[str] | None = None) -> int:
    """Download the page named on the command line and save it."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="the page to download, e.g. http://127.0.0.1:8000/page/1")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT_FILE,
                        help=f"where to save it (default {DEFAULT_OUTPUT_FILE})")
    arguments = parser.parse_args(argv)
    try:
        asyncio.run(download(arguments.url, arguments.output))
    except DownloadError as error:
        print(printable(f"error: {error}"), file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: cannot write {arguments.output}: {error.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    print(printable(f"saved {arguments.url} -> {arguments.output}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
