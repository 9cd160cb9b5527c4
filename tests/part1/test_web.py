"""Steps 3 to 6 against the stand-in site: pages saved byte for byte, failures reported per URL."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from chatlib.first_steps import web_async, web_async_multiple, web_sync, web_sync_multiple
from chatlib.first_steps.downloads import DownloadError, DownloadOutcome
from chatlib.first_steps.standin_site import StandinSite, StandinSiteThread, page_content
from chatlib.first_steps.url_files import file_name_for_url


def test_sync_get_content_returns_the_page(site_thread: StandinSiteThread) -> None:
    assert web_sync.get_content(site_thread.base_url + "page/3") == page_content(3)


def test_sync_write_content_saves_bytes(tmp_path: Path) -> None:
    web_sync.write_content(page_content(2), tmp_path / "page")
    assert (tmp_path / "page").read_bytes() == page_content(2)


@pytest.mark.parametrize(("path", "reason"), [("page/99", "HTTP 404 Not Found"),
                                              ("status/500", "HTTP 500 Internal Server Error")])
def test_sync_get_content_reports_http_errors(site_thread: StandinSiteThread, path: str, reason: str) -> None:
    with pytest.raises(DownloadError) as caught:
        web_sync.get_content(site_thread.base_url + path)
    assert str(caught.value) == f"{site_thread.base_url}{path}: {reason}"


def test_sync_get_content_reports_a_refused_connection(closed_port: int) -> None:
    with pytest.raises(DownloadError) as caught:
        web_sync.get_content(f"http://127.0.0.1:{closed_port}/")
    assert caught.value.reason == "could not connect"


def test_sync_get_content_gives_up_after_its_timeout(site_thread: StandinSiteThread) -> None:
    with pytest.raises(DownloadError) as caught:
        web_sync.get_content(site_thread.base_url + "page/1?delay=5", timeout=0.2)
    assert caught.value.reason == "no answer within 0.2 s"


async def test_async_get_and_write_content(site: StandinSite, tmp_path: Path) -> None:
    async with asyncio.timeout(10):
        await web_async.download(site.base_url + "page/4", tmp_path / "page")
    assert (tmp_path / "page").read_bytes() == page_content(4)


@pytest.mark.parametrize(("path", "reason"), [("page/99", "HTTP 404 Not Found"),
                                              ("status/500", "HTTP 500 Internal Server Error"),
                                              ("page/1?delay=5", "no answer within 0.2 s")])
async def test_async_get_content_reports_errors(site: StandinSite, path: str, reason: str) -> None:
    with pytest.raises(DownloadError) as caught:
        async with asyncio.timeout(10):
            await web_async.get_content(site.base_url + path, timeout=0.2)
    assert caught.value.reason == reason


async def test_async_get_content_reports_a_refused_connection(closed_port: int) -> None:
    with pytest.raises(DownloadError) as caught:
        async with asyncio.timeout(10):
            await web_async.get_content(f"http://127.0.0.1:{closed_port}/")
    assert caught.value.reason == "could not connect"


def mixed_urls(base_url: str, closed_port: int) -> list[str]:
    """Three good pages around a 404, a 500 and a refused connection."""
    return [f"{base_url}page/1", f"{base_url}page/99", f"{base_url}page/2", f"{base_url}status/500",
            f"http://127.0.0.1:{closed_port}/page/1", f"{base_url}page/5"]


def expected_outcomes(urls: list[str], folder: Path) -> list[DownloadOutcome]:
    """What downloading `mixed_urls` into `folder` must report."""
    return [DownloadOutcome(urls[0], file=folder / file_name_for_url(urls[0])),
            DownloadOutcome(urls[1], error="HTTP 404 Not Found"),
            DownloadOutcome(urls[2], file=folder / file_name_for_url(urls[2])),
            DownloadOutcome(urls[3], error="HTTP 500 Internal Server Error"),
            DownloadOutcome(urls[4], error="could not connect"),
            DownloadOutcome(urls[5], file=folder / file_name_for_url(urls[5]))]


def saved_pages(folder: Path) -> dict[str, bytes]:
    """Every file in `folder`, by name."""
    return {file.name: file.read_bytes() for file in folder.iterdir()}


def test_sync_multiple_keeps_going_past_failures(site_thread: StandinSiteThread, closed_port: int,
                                                 tmp_path: Path) -> None:
    urls = mixed_urls(site_thread.base_url, closed_port)
    folder = tmp_path / "pages"
    assert web_sync_multiple.download_all(urls, folder) == expected_outcomes(urls, folder)
    assert saved_pages(folder) == {file_name_for_url(urls[number]): page_content(page)
                                   for number, page in ((0, 1), (2, 2), (5, 5))}


async def test_async_multiple_keeps_going_past_failures(site: StandinSite, closed_port: int,
                                                        tmp_path: Path) -> None:
    urls = mixed_urls(site.base_url, closed_port)
    folder = tmp_path / "pages"
    async with asyncio.timeout(20):
        outcomes = await web_async_multiple.download_all(urls, folder)
    assert outcomes == expected_outcomes(urls, folder)
    assert saved_pages(folder) == {file_name_for_url(urls[number]): page_content(page)
                                   for number, page in ((0, 1), (2, 2), (5, 5))}


def test_a_folder_that_cannot_be_written_is_a_per_url_failure(site_thread: StandinSiteThread,
                                                              tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / file_name_for_url(site_thread.base_url + "page/1")).mkdir()
    urls = site_thread.page_urls(2)
    outcomes = web_sync_multiple.download_all(urls, folder)
    assert outcomes[0].error is not None and outcomes[0].error.startswith("cannot write ")
    assert outcomes[1] == DownloadOutcome(urls[1], file=folder / file_name_for_url(urls[1]))


async def test_async_multiple_downloads_overlap(tmp_path: Path) -> None:
    async with StandinSite(port=0, pages=10, delay=0.3) as slow_site:
        started = time.perf_counter()
        async with asyncio.timeout(20):
            outcomes = await web_async_multiple.download_all(slow_site.page_urls(), tmp_path)
        elapsed = time.perf_counter() - started
    assert [outcome.error for outcome in outcomes] == [None] * 10
    # One after the other they would take 3 s; overlapping, a little over 0.3 s.
    assert elapsed < 1.5
