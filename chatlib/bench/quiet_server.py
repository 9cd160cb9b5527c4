"""Run the finished chat server for the benchmark: console log quiet, flood control off on request.

The server logs every message it relays to the console at INFO level; under a load of millions
of messages that console output would be most of what is measured. This runs the very same
``chatlib.app.server.main`` with the server's console loggers raised to WARNING: the
conversation log file (its own logger, with its own level) is written as usual.

Issue 7 measures the server with its per-client flood rate limit off, and only that limit.
Until the server's command line has a ``--no-rate-limit`` option, ``--bench-no-rate-limit``
here makes the server's default ``ServerLimits`` carry no rate limit; every other limit keeps
its default. The benchmark uses the server's own option as soon as its ``--help`` lists it.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import sys

import chatlib.app.server as server_module

CONSOLE_LOGGERS = ("chatlib.app",)
NO_RATE_LIMIT = "--bench-no-rate-limit"


def has_rate_limit_setting() -> bool:
    """Whether this server's limits have a ``rate_limit`` setting that is on by default."""
    limits_class = getattr(server_module, "ServerLimits", None)
    if limits_class is None or not dataclasses.is_dataclass(limits_class):
        return False
    fields = {field.name for field in dataclasses.fields(limits_class)}
    return "rate_limit" in fields and limits_class().rate_limit is not None


def switch_off_rate_limit() -> None:
    """Make the limits the server builds by default come without a rate limit."""
    server_module.ServerLimits = functools.partial(server_module.ServerLimits, rate_limit=None)  # type: ignore[misc]


def main(arguments: list[str]) -> int:
    """Run the server's own ``main`` with the console quiet (and the rate limit off if asked)."""
    for name in CONSOLE_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if NO_RATE_LIMIT in arguments:
        arguments = [argument for argument in arguments if argument != NO_RATE_LIMIT]
        if not has_rate_limit_setting():
            print(f"quiet_server: {NO_RATE_LIMIT}: this server has no rate limit setting", file=sys.stderr)
            return 2
        switch_off_rate_limit()
    return server_module.main(arguments)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
