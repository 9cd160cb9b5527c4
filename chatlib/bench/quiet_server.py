"""Run the finished chat server with its console log quiet, for the benchmark.

The server logs every message it relays to the console at INFO level; under a load of millions
of messages that console output would be most of what is measured. This runs the very same
``chatlib.app.server.main`` with the server's console loggers raised to WARNING: the
conversation log file (its own logger, with its own level) is written as usual.
"""

from __future__ import annotations

import logging
import sys

from chatlib.app.server import main

CONSOLE_LOGGERS = ("chatlib.app",)

if __name__ == "__main__":
    for name in CONSOLE_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    sys.exit(main())
