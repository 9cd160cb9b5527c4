"""Stage ii_2, client: a plain blocking socket sends `Hello` and prints the server's answer.

Run it with `python -m chatlib.stages.ii_2.client [-a ADDRESS] [-p PORT]`.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from chatlib.stages.cli import DEFAULT_HOST, DEFAULT_PORT, clean_exit, parse_address, printable


def say_hello(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, show: Callable[[str], None] = print) -> str:
    """Connect, send `Hello`, show the server's answer and return it."""
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(b"Hello")
        answer = connection.recv(1024).decode(errors="replace").rstrip("\r\n")
    show(printable(answer))
    return answer


def main(argv: list[str] | None = None) -> None:
    """The command line: parse the address, say Hello, exit cleanly."""
    args = parse_address("Stage ii_2 chat client.", argv)
    with clean_exit():
        say_hello(args.address, args.port)


if __name__ == "__main__":
    main()
