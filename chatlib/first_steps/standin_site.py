"""A local stand-in web site, so every Part I step runs offline with predictable pages.

It serves `/` (an index of the pages), `/page/1` ... `/page/N` (fixed content, each
answered after a delay: the site default or `?delay=SECONDS`) and `/status/CODE`
(answers that HTTP error, e.g. `/status/500`, for the error cases). `/exact/1` ... `/exact/N`
are pages only a byte-exact copy reproduces (UTF-8 text, "\r\n" line ends and bytes that are no
text at all, served without a charset): the checks use them to tell bytes from text. Anything
else is a 404.

    python -m chatlib.first_steps.standin_site [--host 127.0.0.1] [--port 8000]
        [--pages N] [--delay SECONDS] [--write-urls FILE]

From Python: `async with StandinSite(port=0) as site: ... site.base_url ...` inside an
event loop, or `with StandinSiteThread(port=0) as site: ...` to serve from a thread of
its own, which blocking code such as `requests` needs (it would freeze a site served
by its own event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
from pathlib import Path
from types import TracebackType

from aiohttp import web
from aiohttp.log import access_logger

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_PAGE_COUNT = 10
DEFAULT_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 60.0
# Room for every connection of the course's 100-page measurement to wait at once.
LISTEN_BACKLOG = 1024


def page_content(number: int) -> bytes:
    """The exact bytes of page `number` (the same on every run, so tests can compare them)."""
    lines = "\n".join(f"<li>Line {line} of page {number}.</li>" for line in range(1, 21))
    return (f"<!doctype html>\n<html><head><title>Page {number}</title></head>\n"
            f"<body><h1>Page {number}</h1>\n<ul>\n{lines}\n</ul></body></html>\n").encode()


def exact_page_content(number: int) -> bytes:
    """The bytes of exact page `number`: decoding them as text and encoding again never gives them back.

    Non-ASCII UTF-8 (accents, CJK, an emoji), "\r\n" and lone "\r" line ends, and bytes that are
    not UTF-8 at all (a NUL, 0xff, a stray continuation byte).
    """
    lines = [f"Page exacte n\u00b0{number} : caf\u00e9, na\u00efve, \u6f22\u5b57, \U0001f600",
             "Windows line end\r", "old Mac line end\rsame line", "tab\there"]
    text = "\n".join(lines).encode() + b"\r\n"
    return text + b"binary: \x00\xff\xfe\x80\xc3(\x1b[0m end\n" + bytes(range(256)) + f"{number}\n".encode()


def page_urls(base_url: str, page_count: int) -> list[str]:
    """The URLs of the pages 1 to `page_count` of the site at `base_url`."""
    return [f"{base_url}page/{number}" for number in range(1, page_count + 1)]


def write_url_list(file: Path, base_url: str, page_count: int) -> None:
    """Write a URL list file (one URL a line) for the site's pages, ready for the multiple downloads."""
    header = f"# The {page_count} pages of the stand-in web site at {base_url}\n"
    file.write_text(header + "".join(f"{url}\n" for url in page_urls(base_url, page_count)))


def requested_delay(request: web.Request, default: float) -> float:
    """The delay asked for by `?delay=SECONDS`, or the site's default; 400 Bad Request if invalid."""
    text = request.query.get("delay")
    if text is None:
        return default
    try:
        delay = float(text)
    except ValueError:
        raise web.HTTPBadRequest(text="delay must be a number of seconds\n") from None
    if not 0 <= delay <= MAX_DELAY_SECONDS:
        raise web.HTTPBadRequest(text=f"delay must be between 0 and {MAX_DELAY_SECONDS:g} seconds\n")
    return delay


def build_app(page_count: int, delay: float) -> web.Application:
    """The aiohttp application serving the index, the pages and the error statuses."""

    async def index(request: web.Request) -> web.Response:
        links = "\n".join(f'<li><a href="/page/{number}">Page {number}</a></li>'
                          for number in range(1, page_count + 1))
        return web.Response(text=f"<!doctype html>\n<html><body><h1>Stand-in web site</h1>\n"
                                 f"<ul>\n{links}\n</ul></body></html>\n", content_type="text/html")

    async def page(request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        if not 1 <= number <= page_count:
            raise web.HTTPNotFound(text=f"there is no page {number}: pages go from 1 to {page_count}\n")
        await asyncio.sleep(requested_delay(request, delay))
        return web.Response(body=page_content(number), content_type="text/html")

    async def exact(request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        if not 1 <= number <= page_count:
            raise web.HTTPNotFound(text=f"there is no page {number}: pages go from 1 to {page_count}\n")
        await asyncio.sleep(requested_delay(request, delay))
        # text/plain without a charset: a client that decodes must guess (requests guesses ISO-8859-1)
        return web.Response(body=exact_page_content(number), headers={"Content-Type": "text/plain"})

    async def status(request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        if not 400 <= code <= 599:
            raise web.HTTPNotFound(text="only error statuses (400 to 599) are served here\n")
        await asyncio.sleep(requested_delay(request, 0))
        return web.Response(status=code, text=f"an HTTP {code} error, as asked\n")

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get(r"/page/{number:\d{1,9}}", page)
    app.router.add_get(r"/exact/{number:\d{1,9}}", exact)
    app.router.add_get(r"/status/{code:\d{3}}", status)
    return app


class StandinSite:
    """The stand-in site served by the running event loop; use `async with` or `start()`/`stop()`."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, pages: int = DEFAULT_PAGE_COUNT,
                 delay: float = DEFAULT_DELAY_SECONDS, log_requests: bool = False) -> None:
        self.host = host
        self.port = port
        self.page_count = pages
        self.delay = delay
        # A page whose client gave up is abandoned at once, and stopping never waits long for the rest.
        self._runner = web.AppRunner(build_app(pages, delay), handler_cancellation=True, shutdown_timeout=1.0,
                                     access_log=access_logger if log_requests else None)
        self.base_url = ""

    async def start(self) -> str:
        """Listen on the host and port (0: any free port) and return the base URL, e.g. `http://127.0.0.1:8000/`."""
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port, backlog=LISTEN_BACKLOG).start()
        except BaseException:
            await self._runner.cleanup()
            raise
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.port = bound_port
        self.base_url = f"http://{bound_host}:{bound_port}/"
        return self.base_url

    async def stop(self) -> None:
        """Close the listening socket and the open connections."""
        await self._runner.cleanup()

    def page_urls(self, count: int | None = None) -> list[str]:
        """The URLs of the first `count` pages (all of them by default)."""
        return page_urls(self.base_url, self.page_count if count is None else count)

    def exact_page_urls(self, count: int | None = None) -> list[str]:
        """The URLs of the first `count` exact pages (all of them by default)."""
        return [url.replace("/page/", "/exact/") for url in self.page_urls(count)]

    async def __aenter__(self) -> StandinSite:
        await self.start()
        return self

    async def __aexit__(self, error_type: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.stop()


class StandinSiteThread:
    """The stand-in site served from a background thread with its own event loop.

    Blocking code (requests, a synchronous download loop) can then call it from the
    main thread, a notebook cell or a test. Use `with` or `start()`/`stop()`.
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, pages: int = DEFAULT_PAGE_COUNT,
                 delay: float = DEFAULT_DELAY_SECONDS) -> None:
        self.site = StandinSite(host, port, pages, delay)
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),),
                                        name="standin-site", daemon=True)

    @property
    def base_url(self) -> str:
        """The site's base URL, e.g. `http://127.0.0.1:41237/`."""
        return self.site.base_url

    def page_urls(self, count: int | None = None) -> list[str]:
        """The URLs of the first `count` pages (all of them by default)."""
        return self.site.page_urls(count)

    def exact_page_urls(self, count: int | None = None) -> list[str]:
        """The URLs of the first `count` exact pages (all of them by default)."""
        return self.site.exact_page_urls(count)

    @property
    def running(self) -> bool:
        """Whether the site's thread is still serving."""
        return self._thread.is_alive()

    async def _serve(self) -> None:
        """The thread's main coroutine: start the site, tell `start()`, serve until `stop()`."""
        self._loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        try:
            await self.site.start()
        except BaseException as error:
            self._start_error = error
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop_requested.wait()
        finally:
            await self.site.stop()

    def start(self, timeout: float = 10.0) -> str:
        """Start serving and return the base URL; raise the server's error if it could not start."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the stand-in site did not start within {timeout:g} s")
        if self._start_error is not None:
            self._thread.join()
            raise self._start_error
        return self.base_url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to end."""
        if self._loop is not None and self._stop_requested is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop_requested.set)
        self._thread.join(timeout)

    def __enter__(self) -> StandinSiteThread:
        self.start()
        return self

    def __exit__(self, error_type: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


async def serve_until_interrupted(arguments: argparse.Namespace) -> None:
    """Serve the site (logging each request) until the process is interrupted."""
    async with StandinSite(arguments.host, arguments.port, arguments.pages, arguments.delay,
                           log_requests=True) as site:
        if arguments.write_urls:
            write_url_list(arguments.write_urls, site.base_url, site.page_count)
            print(f"URL list of the {site.page_count} pages written to {arguments.write_urls}", flush=True)
        print(f"Stand-in web site serving {site.page_count} pages ({site.delay:g} s each) "
              f"on {site.base_url}  (Ctrl+C to stop)", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    """Run the stand-in web site from a terminal."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on, 0 for any free one (default {DEFAULT_PORT})")
    parser.add_argument("--pages", type=int, default=DEFAULT_PAGE_COUNT,
                        help=f"how many pages to serve (default {DEFAULT_PAGE_COUNT})")
    parser.add_argument("--delay", type=float, default=DEFAULT_DELAY_SECONDS,
                        help=f"seconds before each page is answered (default {DEFAULT_DELAY_SECONDS})")
    parser.add_argument("--write-urls", type=Path, metavar="FILE",
                        help="also write the list of the pages' URLs to FILE")
    arguments = parser.parse_args(argv)
    if arguments.write_urls and not arguments.write_urls.parent.is_dir():
        parser.error(f"no such folder for --write-urls: {arguments.write_urls.parent}")
    if not 0 <= arguments.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    if arguments.pages < 1:
        parser.error("--pages must be at least 1")
    if not 0 <= arguments.delay <= MAX_DELAY_SECONDS:
        parser.error(f"--delay must be between 0 and {MAX_DELAY_SECONDS:g} seconds")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        asyncio.run(serve_until_interrupted(arguments))
    except KeyboardInterrupt:
        print("Stand-in web site stopped.")
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        print(f"error: cannot serve on {arguments.host}:{arguments.port}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
