"""Where a downloaded page is saved, and the list of URLs to download.

`file_name_for_url` turns a URL into ONE safe file name (never a path): the
lab sheet's `web_<URL without its scheme>` when that is already safe, else a
cleaned, length-capped name ending with a short hash so different URLs keep
different files. `read_url_list` reads a file of URLs, one a line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

FILE_PREFIX = "web_"
MAX_FILE_NAME_LENGTH = 120
HASH_LENGTH = 10
# The hash separator is never a safe character, so a hashed name can't equal an unhashed one.
HASH_SEPARATOR = "~"
SAFE_CHARACTERS = re.compile(r"[A-Za-z0-9._-]+")
UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def file_name_for_url(url: str) -> str:
    """The name of the file that holds the page at `url`: `https://www.ynov.com` -> `web_www.ynov.com`."""
    without_scheme = SCHEME.sub("", url, count=1)
    plain_name = FILE_PREFIX + without_scheme
    if SAFE_CHARACTERS.fullmatch(without_scheme) and len(plain_name) <= MAX_FILE_NAME_LENGTH:
        return plain_name
    digest = hashlib.sha256(without_scheme.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_LENGTH]
    room_for_text = MAX_FILE_NAME_LENGTH - len(FILE_PREFIX) - len(HASH_SEPARATOR) - HASH_LENGTH
    cleaned = UNSAFE_RUN.sub("_", without_scheme)[:room_for_text]
    return f"{FILE_PREFIX}{cleaned}{HASH_SEPARATOR}{digest}"


def file_for_url(url: str, output_dir: Path) -> Path:
    """The path, directly inside `output_dir`, where the page at `url` is saved."""
    return output_dir / file_name_for_url(url)


@dataclass
class UrlList:
    """The URLs read from a list file, and a message for each line that could not be used."""

    urls: list[str] = field(default_factory=list)
    bad_lines: list[str] = field(default_factory=list)


def url_problem(text: str) -> str | None:
    """Why `text` is not an http(s) URL we can download, or None if it is one."""
    if not text.isprintable() or any(character.isspace() for character in text):
        return "contains spaces or control characters"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (reading it validates the port)
    except ValueError as error:
        return f"is not a valid URL ({error})"
    if parts.scheme not in ("http", "https"):
        return "is not an http:// or https:// URL"
    if not parts.hostname:
        return "has no host name"
    return None


def read_url_list(path: Path) -> UrlList:
    """Read one URL a line, skipping blank lines and `#` comments; report bad and repeated lines."""
    url_list = UrlList()
    first_line_of: dict[str, int] = {}
    for number, raw_line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            text = raw_line.decode("utf-8").strip()
        except UnicodeDecodeError:
            url_list.bad_lines.append(f"line {number}: is not valid UTF-8 text")
            continue
        if not text or text.startswith("#"):
            continue
        problem = url_problem(text)
        if problem:
            url_list.bad_lines.append(f"line {number}: {text!r} {problem}")
        elif text in first_line_of:
            url_list.bad_lines.append(f"line {number}: {text} repeats line {first_line_of[text]}, skipped")
        else:
            first_line_of[text] = number
            url_list.urls.append(text)
    return url_list
