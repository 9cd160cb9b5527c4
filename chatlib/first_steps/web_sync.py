"""Step 3: download one web page with `requests` and save it with the built-in `open()`.

Both calls block: while the program waits for the server or the disk, it does nothing else.

    python -m chatlib.first_steps.web_sync URL [-o FILE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import requests

from chatlib.first_steps.downloads import DEFAULT_TIMEOUT_SECONDS, DownloadError, printable

DEFAULT_OUTPUT_FILE = Path("/tmp/web_page")


def get_content(url: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> bytes:
    """The body of the page at `url`; DownloadError if it can't be fetched or the server answers an error."""
    try:
        response = requests.get(url, timeout=timeout)
    except requests.Timeout as error:
        raise DownloadError(url, f"no answer within {timeout:g} s") from error
    except requests.ConnectionError as error:
        raise DownloadError(url, "could not connect") from error
    except requests.RequestException as error:
        raise DownloadError(url, f"bad request ({error})") from error
    if not response.ok:
        raise DownloadError(url, f"HTTP {response.status_code} {response.reason}")
    return response.content


def write_content(content: bytes, file: Path) -> None:
    """Write `content` to `file`, replacing what was there."""
    with open(file, "wb") as output:
        output.write(content)


def main(argv: list[str] | None = None) -> int:
    """Download the page named on the command line and save it."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="the page to download, e.g. http://127.0.0.1:8000/page/1")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT_FILE,
                        help=f"where to save it (default {DEFAULT_OUTPUT_FILE})")
    arguments = parser.parse_args(argv)
    try:
        write_content(get_content(arguments.url), arguments.output)
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
