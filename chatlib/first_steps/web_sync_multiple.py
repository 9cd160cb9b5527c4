"""Step 5: download every page of a URL list, one after the other, with `requests`.

Each page is saved as `<output-dir>/web_<URL without its scheme>`; a page that fails
is reported and the others are still downloaded.

    python -m chatlib.first_steps.web_sync_multiple URLS_FILE [--output-dir DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from chatlib.first_steps.downloads import DownloadError, DownloadOutcome, parse_multiple_arguments, report
from chatlib.first_steps.url_files import file_for_url, read_url_list
from chatlib.first_steps.web_sync import get_content, write_content


def download_one(url: str, output_dir: Path) -> DownloadOutcome:
    """Fetch and save one page, turning any failure into an outcome instead of an exception."""
    file = file_for_url(url, output_dir)
    try:
        write_content(get_content(url), file)
    except DownloadError as error:
        return DownloadOutcome(url, error=error.reason)
    except OSError as error:
        return DownloadOutcome(url, error=f"cannot write {file}: {error.strerror}")
    return DownloadOutcome(url, file=file)


def download_all(urls: list[str], output_dir: Path) -> list[DownloadOutcome]:
    """Download the pages one at a time: each waits for the previous one to finish."""
    output_dir.mkdir(parents=True, exist_ok=True)
    return [download_one(url, output_dir) for url in urls]


def main(argv: list[str] | None = None) -> int:
    """Download every URL of the list file named on the command line."""
    arguments = parse_multiple_arguments(argv, __doc__)
    try:
        url_list = read_url_list(arguments.urls_file)
        outcomes = download_all(url_list.urls, arguments.output_dir)
    except OSError as error:
        print(f"error: {error.filename}: {error.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return report(outcomes, url_list.bad_lines)


if __name__ == "__main__":
    sys.exit(main())
