"""The URL -> file name mapping stays inside the output folder; the URL list reader skips and reports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatlib.first_steps.url_files import MAX_FILE_NAME_LENGTH, file_for_url, file_name_for_url, read_url_list

NAME_SHAPE = re.compile(r"web_[A-Za-z0-9._-]*(~[0-9a-f]{10})?")


def test_the_lab_sheet_example() -> None:
    assert file_for_url("https://www.ynov.com", Path("/tmp")) == Path("/tmp/web_www.ynov.com")
    assert file_name_for_url("http://www.ynov.com") == "web_www.ynov.com"


@pytest.mark.parametrize("url", [
    "https://a.b/../../etc/passwd",
    "http://127.0.0.1:8000/page/1",
    "https://a.b/search?q=x&lang=fr",
    "https://a.b/%2e%2e%2f%2e%2e%2fetc",
    "https://a.b/" + "x" * 5000,
    "..",
    "https://..",
    "/etc/passwd",
    "https://a.b/\x00\x1b[31m",
    "https://exemple.fr/été",
])
def test_unsafe_urls_become_one_plain_name_inside_the_folder(url: str, tmp_path: Path) -> None:
    name = file_name_for_url(url)
    assert NAME_SHAPE.fullmatch(name), name
    assert "/" not in name and "\\" not in name
    assert len(name) <= MAX_FILE_NAME_LENGTH
    assert file_for_url(url, tmp_path).resolve().parent == tmp_path.resolve()


def test_similar_urls_keep_different_files() -> None:
    urls = ["https://a.b/x_y", "https://a.b/x/y", "https://a.b/x?y", "https://a.b/x:y",
            "https://a.b/" + "x" * 300, "https://a.b/" + "x" * 301]
    assert len({file_name_for_url(url) for url in urls}) == len(urls)
    assert file_name_for_url("https://a.b/x_y") == "web_a.b_x_y~" + file_name_for_url("https://a.b/x_y")[-10:]


@given(st.text())
def test_any_url_maps_to_a_safe_name(url: str) -> None:
    name = file_name_for_url(url)
    assert NAME_SHAPE.fullmatch(name), name
    assert len(name) <= MAX_FILE_NAME_LENGTH
    folder = Path("/srv/downloads")
    assert (folder / name).parent == folder
    assert name not in (".", "..")


@given(st.text(), st.text())
def test_different_urls_never_share_a_file(first: str, second: str) -> None:
    if first != second:
        assert file_name_for_url("https://" + first) != file_name_for_url("https://" + second)


def test_the_list_reader_skips_comments_and_reports_bad_lines(tmp_path: Path) -> None:
    urls_file = tmp_path / "urls.txt"
    urls_file.write_bytes(b"# pages to fetch\n"
                          b"http://127.0.0.1:8000/page/1\n"
                          b"\n"
                          b"   \n"
                          b"  http://127.0.0.1:8000/page/2  \n"
                          b"not a url\n"
                          b"ftp://127.0.0.1/file\n"
                          b"http://\n"
                          b"http://127.0.0.1:99999/\n"
                          b"http://127.0.0.1:8000/\xff\n"
                          b"http://127.0.0.1:8000/page/1\n"
                          b"http://127.0.0.1:8000/page/3")
    url_list = read_url_list(urls_file)
    assert url_list.urls == ["http://127.0.0.1:8000/page/1", "http://127.0.0.1:8000/page/2",
                             "http://127.0.0.1:8000/page/3"]
    assert url_list.bad_lines == [
        "line 6: 'not a url' contains spaces or control characters",
        "line 7: 'ftp://127.0.0.1/file' is not an http:// or https:// URL",
        "line 8: 'http://' has no host name",
        "line 9: 'http://127.0.0.1:99999/' is not a valid URL (Port out of range 0-65535)",
        "line 10: is not valid UTF-8 text",
        "line 11: http://127.0.0.1:8000/page/1 repeats line 2, skipped",
    ]
