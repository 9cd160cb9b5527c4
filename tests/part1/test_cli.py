"""The Part I commands run as real subprocesses: exit codes, saved files and one-line messages."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from chatlib.first_steps.standin_site import StandinSiteThread, page_content
from chatlib.first_steps.url_files import file_name_for_url


def run_module(module: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m chatlib.first_steps.<module> ...` to the end, capturing its output."""
    return subprocess.run([sys.executable, "-m", f"chatlib.first_steps.{module}", *arguments],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("module", ["web_sync", "web_async"])
def test_single_download_saves_the_page(module: str, site_thread: StandinSiteThread, tmp_path: Path) -> None:
    url = site_thread.base_url + "page/2"
    result = run_module(module, url, "-o", str(tmp_path / "page.html"))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"saved {url} -> {tmp_path / 'page.html'}\n"
    assert (tmp_path / "page.html").read_bytes() == page_content(2)


@pytest.mark.parametrize("module", ["web_sync", "web_async"])
def test_single_download_fails_in_one_line(module: str, closed_port: int, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port}/page/1"
    result = run_module(module, url, "-o", str(tmp_path / "page.html"))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: {url}: could not connect\n"
    assert not (tmp_path / "page.html").exists()


@pytest.mark.parametrize("module", ["web_sync_multiple", "web_async_multiple"])
def test_multiple_downloads_report_each_url(module: str, site_thread: StandinSiteThread, closed_port: int,
                                            tmp_path: Path) -> None:
    base = site_thread.base_url
    refused = f"http://127.0.0.1:{closed_port}/"
    urls_file = tmp_path / "urls.txt"
    urls_file.write_text(f"# test pages\n{base}page/1\n\n{base}status/500\nnot-a-url\n{refused}\n{base}page/3\n")
    result = run_module(module, str(urls_file), "--output-dir", str(tmp_path / "pages"))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "skipped line 5: 'not-a-url' is not an http:// or https:// URL",
        f"saved  {base}page/1 -> {tmp_path / 'pages' / file_name_for_url(base + 'page/1')}",
        f"FAILED {base}status/500: HTTP 500 Internal Server Error",
        f"FAILED {refused}: could not connect",
        f"saved  {base}page/3 -> {tmp_path / 'pages' / file_name_for_url(base + 'page/3')}",
        "2 saved, 2 failed, 1 bad lines",
    ]
    assert sorted(file.name for file in (tmp_path / "pages").iterdir()) == sorted(
        file_name_for_url(base + page) for page in ("page/1", "page/3"))


@pytest.mark.parametrize("module", ["web_sync_multiple", "web_async_multiple"])
def test_multiple_downloads_succeed_with_exit_zero(module: str, site_thread: StandinSiteThread,
                                                   tmp_path: Path) -> None:
    urls_file = tmp_path / "urls.txt"
    urls_file.write_text("".join(f"{url}\n" for url in site_thread.page_urls()))
    result = run_module(module, str(urls_file), "--output-dir", str(tmp_path))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-1] == "5 saved, 0 failed, 0 bad lines"
    for number, url in enumerate(site_thread.page_urls(), start=1):
        assert (tmp_path / file_name_for_url(url)).read_bytes() == page_content(number)


def test_a_missing_url_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run_module("web_async_multiple", str(tmp_path / "nowhere.txt"))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith(f"error: no such file: {tmp_path / 'nowhere.txt'}")


def test_standin_site_serves_from_a_terminal_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    urls_file = tmp_path / "urls.txt"
    server = subprocess.Popen([sys.executable, "-m", "chatlib.first_steps.standin_site", "--host", "127.0.0.1",
                               "--port", "0", "--pages", "3", "--delay", "0", "--write-urls", str(urls_file)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        assert server.stdout.readline() == f"URL list of the 3 pages written to {urls_file}\n"
        banner = server.stdout.readline()
        assert banner.startswith("Stand-in web site serving 3 pages (0 s each) on http://127.0.0.1:")
        base_url = banner.split(" on ")[1].split()[0]
        assert urls_file.read_text().splitlines()[1:] == [f"{base_url}page/{n}" for n in (1, 2, 3)]
        assert requests.get(base_url + "page/3", timeout=10).content == page_content(3)
        assert requests.get(base_url + "page/4", timeout=10).status_code == 404
        assert 'href="/page/3"' in requests.get(base_url, timeout=10).text
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=10)
    finally:
        server.kill()
        server.wait(timeout=10)
    assert server.returncode == 0
    assert out == "Stand-in web site stopped.\n"
    assert '"GET /page/3 HTTP/1.1" 200' in err


def test_standin_site_reports_a_busy_port(site_thread: StandinSiteThread) -> None:
    result = run_module("standin_site", "--port", str(site_thread.site.port))
    assert result.returncode == 1
    assert result.stderr == f"error: cannot serve on 127.0.0.1:{site_thread.site.port}: Address already in use\n"


def test_measure_prints_both_times() -> None:
    result = run_module("measure", "--pages", "4", "--delay", "0.2", "--sync-pages", "2")
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Stand-in web site on http://127.0.0.1:")
    assert lines[1].split() == ["pages", "time", "(s)", "ideal", "(s)", "ratio"]
    sync_row, async_row = lines[2].split(), lines[3].split()
    assert sync_row[:2] == ["synchronous", "4"] and async_row[:2] == ["asynchronous", "4"]
    assert lines[2].endswith("ideal: the sum of the single pages  (timed on 2 pages, scaled up)")
    assert float(sync_row[2]) >= 0.8 and float(async_row[2]) >= 0.2
    assert lines[4].startswith("async was ")


def test_measure_times_the_urls_of_a_file(site_thread: StandinSiteThread, tmp_path: Path) -> None:
    urls_file = tmp_path / "urls.txt"
    urls_file.write_text("# three pages\n" + "".join(f"{url}\n" for url in site_thread.page_urls(3)) + "nope\n")
    result = run_module("measure", "--urls", str(urls_file), "--sync-pages", "2")
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[:2] == ["skipped line 5: 'nope' is not an http:// or https:// URL", f"3 URLs from {urls_file}"]
    assert lines[2].split() == ["pages", "time", "(s)", "ideal", "(s)", "ratio"]
    assert lines[3].split()[:2] == ["synchronous", "3"] and lines[4].split()[:2] == ["asynchronous", "3"]
    assert lines[3].endswith("(timed on 2 pages, scaled up)")
    assert lines[5].startswith("async was ")


def test_measure_says_which_url_failed(site_thread: StandinSiteThread, closed_port: int, tmp_path: Path) -> None:
    refused = f"http://127.0.0.1:{closed_port}/page/1"
    urls_file = tmp_path / "urls.txt"
    urls_file.write_text(f"{site_thread.base_url}page/1\n{refused}\n")
    result = run_module("measure", "--urls", str(urls_file))
    assert result.returncode == 1
    assert result.stderr == f"error: a download failed, so the times mean nothing: {refused}: could not connect\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--urls", "{missing}"], "error: no such file: {missing}"),
        (["--urls", "{empty}"], "error: no URL to measure in {empty}"),
        (["--urls", "{empty}", "--pages", "3"],
         "error: --pages counts a stand-in site's pages: with --urls, the file decides"),
        (["--urls", "{empty}", "--base-url", "http://127.0.0.1:8000/"],
         "error: argument --base-url: not allowed with argument --urls"),
    ],
)
def test_measure_refuses_a_url_file_it_cannot_use(arguments: list[str], message: str, tmp_path: Path) -> None:
    files = {"missing": tmp_path / "nowhere.txt", "empty": tmp_path / "empty.txt"}
    files["empty"].write_text("# nothing but a comment\n")
    result = run_module("measure", *(argument.format(**files) for argument in arguments))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines()[-1].endswith(message.format(**files))


@pytest.mark.parametrize("module", ["web_sync", "web_async"])
def test_a_malformed_url_fails_in_one_line(module: str, tmp_path: Path) -> None:
    result = run_module(module, "not-a-url", "-o", str(tmp_path / "page.html"))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("error: not-a-url: bad request (")
    assert len(result.stderr.splitlines()) == 1
