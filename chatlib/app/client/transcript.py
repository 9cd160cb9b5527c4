"""The conversation log of one chat session: every line it shows, in ``client.log``, saying whose it is.

One person may run several clients at once (alice and bob in two terminals, or two servers), and
they all append to the same ``client.log``. So each line says whose session it comes from:
``[alice@127.0.0.1:8888]``, or the server alone (``[127.0.0.1:8888]``) until a pseudo is accepted.
"""

from __future__ import annotations

from collections.abc import Callable

from chatlib.app.client.display import ChatLine, LineKind, plain_text
from chatlib.app.client.tokens import server_key
from chatlib.app.shared.logfiles import ConversationLog


class SessionTranscript:
    """The lines one session writes to the conversation log, each after ``[pseudo@host:port]``."""

    def __init__(self, log: ConversationLog, host: str, port: int) -> None:
        self._log = log
        self._server = server_key(host, port)
        self.whose = self._server  # until the server accepts a pseudo

    def logged_in(self, pseudo: str) -> None:
        """The server accepted this pseudo: the lines from now on are its."""
        self.whose = f"{pseudo}@{self._server}"

    def write(self, text: str) -> None:
        """Log one line of this session."""
        self._log.write(f"[{self.whose}] {text}")

    def logging(self, show: Callable[[ChatLine], None]) -> Callable[[ChatLine], None]:
        """A ``show`` that also logs each line shown (a picture only as the line saying who sent an image)."""

        def show_and_log(line: ChatLine) -> None:
            show(line)
            if line.kind is not LineKind.PICTURE:
                self.write(plain_text(line))

        return show_and_log
