"""The web front: the chat's page, and the WebSocket that makes a browser one more chat client.

``chat-server --web-port 8080`` starts one beside the TCP listener::

    server = ChatServer()
    await server.start("127.0.0.1", 8888)
    web = WebFront(server)
    await web.start("127.0.0.1", 8080)   # the page: http://127.0.0.1:8080/
    ...
    await server.stop()                   # closes the browsers' connections too
    await web.stop()

Every WebSocket is served by ``ChatServer.serve_connection``, as a TCP connection is: same
handshake, rooms, limits and connection counts (docs/PROTOCOL.md, "WebSocket transport").
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterable
from pathlib import Path

from aiohttp import hdrs, web

from chatlib.app.protocol import MAX_FRAME_BYTES
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.shared.terminal_text import printable
from chatlib.app.web.origins import OriginPolicy
from chatlib.app.web.websocket_stream import WebSocketByteReader, WebSocketByteWriter

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
WEBSOCKET_PATH = "/chat"
# The largest WebSocket message a browser may send. aiohttp holds a whole message before handing
# it over, so this is what a stranger can make the server hold, as one 64 KiB read over TCP; a
# larger frame (an image) comes in several messages.
MAX_MESSAGE_BYTES = 64 * 1024
assert MAX_MESSAGE_BYTES < MAX_FRAME_BYTES
SHUTDOWN_TIMEOUT = 2.0  # seconds for the page's own HTTP requests to finish at stop

# Only the page's own files run and load: no inline script or style, no other site, images only
# from the page or from the blob: URLs the page makes of images received.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-cache",
}


def load_static_files(folder: Path = STATIC_DIR) -> dict[str, tuple[bytes, str]]:
    """The page's files by name, with their content type: read once, served from memory.

    Only these names are ever served, so no request can reach another file.
    """
    return {
        path.name: (path.read_bytes(), CONTENT_TYPES[path.suffix])
        for path in sorted(folder.iterdir())
        if path.suffix in CONTENT_TYPES
    }


class WebFront:
    """Serves the chat's page and its WebSocket on its own port, for one ``ChatServer``."""

    def __init__(self, chat_server: ChatServer, allowed_origins: Iterable[str] = ()) -> None:
        self._chat_server = chat_server
        self.origins = OriginPolicy(allowed_origins)
        self._files = load_static_files()
        self._runner: web.AppRunner | None = None
        self.address: tuple[str, int] | None = None

    def application(self) -> web.Application:
        """The aiohttp application: the page at ``/``, its files under ``/static/``, the WebSocket."""
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/static/{name}", self._static_file)
        app.router.add_get(WEBSOCKET_PATH, self._websocket)
        app.on_response_prepare.append(_add_security_headers)
        return app

    async def start(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> tuple[str, int]:
        """Listen on ``host``:``port`` (0: any free port); return the address bound.

        With ``tls`` (the chat server's own, ``chat-server --tls-cert``) the page is served over HTTPS
        and the WebSocket is ``wss:``.
        """
        self._runner = web.AppRunner(self.application(), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port, ssl_context=tls).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.address = (bound_host, bound_port)
        return self.address

    async def stop(self) -> None:
        """Stop listening and finish (after ``ChatServer.stop``, which closes the browsers' connections)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _page(self, request: web.Request) -> web.Response:
        """The chat's page."""
        return self._file_response("index.html")

    async def _static_file(self, request: web.Request) -> web.Response:
        """One of the page's scripts, style sheets or pictures."""
        return self._file_response(request.match_info["name"])

    def _file_response(self, name: str) -> web.Response:
        if name not in self._files:
            raise web.HTTPNotFound()
        body, content_type = self._files[name]
        return web.Response(body=body, headers={hdrs.CONTENT_TYPE: content_type})

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        """A browser's chat connection: checked for its origin, then served by the chat server."""
        origin = request.headers.get(hdrs.ORIGIN)
        if not self.origins.allows(origin, request.host):
            logger.warning(
                "WebSocket from %s refused: a page of %s", request.remote, printable(origin or "?")
            )
            raise web.HTTPForbidden(text="pages of this origin may not join the chat (chat-server --web-origin)\n")
        # aiohttp refuses a message of max_msg_size bytes or more: MAX_MESSAGE_BYTES itself is allowed
        websocket = web.WebSocketResponse(compress=False, max_msg_size=MAX_MESSAGE_BYTES + 1)
        http_writer = await websocket.prepare(request)
        tcp = request.transport
        if tcp is None or tcp.is_closing():
            return websocket  # the browser left during the handshake
        reader = WebSocketByteReader(websocket)
        await self._chat_server.serve_connection(reader, WebSocketByteWriter(tcp, http_writer, reader))
        return websocket


def page_url(host: str, port: int, secure: bool = False) -> str:
    """The address of the page, to print: ``http://127.0.0.1:8080/`` (``https://[::1]:8080/``)."""
    scheme = "https" if secure else "http"
    return f"{scheme}://[{host}]:{port}/" if ":" in host else f"{scheme}://{host}:{port}/"


async def start_web_front(
    chat_server: ChatServer,
    host: str,
    port: int,
    allowed_origins: Iterable[str] = (),
    tls: ssl.SSLContext | None = None,
) -> WebFront:
    """Serve ``chat_server``'s web page on ``host``:``port`` and say where (``chat-server --web-port``)."""
    front = WebFront(chat_server, allowed_origins)
    try:
        bound_host, bound_port = await front.start(host, port, tls)
    except OSError as error:
        await front.stop()
        raise OSError(error.errno, f"{error.strerror or error} (the web page's port {port})") from error
    logger.info("web page on %s", page_url(bound_host, bound_port, secure=tls is not None))
    return front


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every response of the web front carries the security headers (see SECURITY_HEADERS)."""
    response.headers.update(SECURITY_HEADERS)
