"""The chat in a browser: ``chat-server --web-port PORT`` serves a page and a WebSocket beside TCP.

- ``front``: ``WebFront``, the aiohttp application (the page, its files, the WebSocket), with
  its security headers;
- ``websocket_stream``: a WebSocket seen as the byte stream ``ChatServer`` serves, so every rule
  of the server applies to browsers unchanged;
- ``origins``: which pages may open the WebSocket;
- ``static/``: the page itself, plain HTML, CSS and JavaScript (``protocol.js`` is the
  protocol's encoder and decoder, mirroring ``chatlib.app.protocol``).

``from chatlib.app.web.front import WebFront``: nothing is imported here, so that ``chat-server``
without ``--web-port`` never loads aiohttp's web server.
"""
