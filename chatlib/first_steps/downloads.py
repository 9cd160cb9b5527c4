"""What the download steps share: their error, the outcome of one download, and the final report."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_OUTPUT_DIR = Path("/tmp")


class DownloadError(Exception):
    """A page could not be downloaded; the message says why in one line."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class DownloadOutcome:
    """Where one URL's page was saved, or why it was not."""

    url: str
    file: Path | None = None
    error: str | None = None


def printable(text: str) -> str:
    """`text` with any control character escaped, so text from the network can't drive the terminal."""
    return "".join(character if character.isprintable() else ascii(character)[1:-1] for character in text)


def report(outcomes: list[DownloadOutcome], bad_lines: list[str], show: Callable[[str], None] = print) -> int:
    """Show each outcome and a summary; return the exit status (1 if anything failed)."""
    for line in bad_lines:
        show(printable(f"skipped {line}"))
    for outcome in outcomes:
        if outcome.error is None:
            show(printable(f"saved  {outcome.url} -> {outcome.file}"))
        else:
            show(printable(f"FAILED {outcome.url}: {outcome.error}"))
    failed = sum(outcome.error is not None for outcome in outcomes)
    show(f"{len(outcomes) - failed} saved, {failed} failed, {len(bad_lines)} bad lines")
    return 1 if failed or bad_lines else 0


def parse_multiple_arguments(argv: list[str] | None, description: str | None) -> argparse.Namespace:
    """The command line of both multiple-download scripts: a URL list file and an output folder."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("urls_file", type=Path, help="a text file with one URL a line (# starts a comment)")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR,
                        help=f"folder to save the pages in (default {DEFAULT_OUTPUT_DIR})")
    arguments = parser.parse_args(argv)
    if not arguments.urls_file.is_file():
        parser.error(f"no such file: {arguments.urls_file}")
    return arguments
