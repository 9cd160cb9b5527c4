"""Say in one line who holds a busy TCP port, and what to do about it.

A server started from a notebook cell fails when its port is taken: by a stage server left
running in a terminal, by another notebook's kernel, or by this kernel itself. Instead of
Python's ``OSError: [Errno 98] address already in use`` traceback, ``PortInUse`` names the
program that listens there (found with psutil) and how to free the port or choose another.
"""

from __future__ import annotations

import errno
import os
from contextlib import suppress
from pathlib import Path

import psutil

ANY_ADDRESS = {"0.0.0.0", "::", ""}
MAX_COMMAND_CHARACTERS = 80
CHANGE_PORT = "or set PORT to another number in the notebook's first cell and run the notebook again"


class PortInUse(OSError):
    """The address a server should listen on is taken; the message says by whom and what to do."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, port_in_use_message(host, port))

    def __str__(self) -> str:
        return self.strerror

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the one-line message."""
        return [f"PortInUse: {self.strerror}"]


def is_address_in_use(error: OSError) -> bool:
    """Whether `error` is the system refusing to listen on an address already taken."""
    return error.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE))


def port_in_use_message(host: str, port: int) -> str:
    """One line: the port, who listens on it (if the system says), and how to go on."""
    holder = listening_process(host, port)
    where = f"Port {port} on {host} is already in use"
    if holder is None:
        return f"{where} by another program: stop it, {CHANGE_PORT}."
    if holder.pid == os.getpid():
        return (
            f"{where} by this notebook's own kernel (a server started earlier): "
            f"run `await stop_all()` or restart the kernel, {CHANGE_PORT}."
        )
    command = describe_command(holder)
    if "ipykernel" in command:
        return (
            f"{where} by another notebook's Jupyter kernel (pid {holder.pid}): shut that kernel down "
            f"(Kernel > Shut Down Kernel in its notebook), {CHANGE_PORT}."
        )
    return (
        f"{where} by `{command}` (pid {holder.pid}): stop it (Ctrl+C in its terminal, "
        f"or `kill {holder.pid}`), {CHANGE_PORT}."
    )


def listening_process(host: str, port: int) -> psutil.Process | None:
    """The process listening on host:port (or on every address, at that port), if the system says."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:  # macOS lets only root list every process's sockets
        return _own_listening_process(host, port)
    for connection in connections:
        if connection.pid is not None and _listens_on(connection, host, port):
            with suppress(psutil.Error):
                return psutil.Process(connection.pid)
    return None


def _own_listening_process(host: str, port: int) -> psutil.Process | None:
    """The same search through the processes this user may inspect, one at a time."""
    for process in psutil.process_iter():
        with suppress(psutil.Error):
            if any(_listens_on(connection, host, port) for connection in process.net_connections("tcp")):
                return process
    return None


def _listens_on(connection: object, host: str, port: int) -> bool:
    """Whether a psutil connection is a listening socket that holds host:port."""
    address = getattr(connection, "laddr", None)
    return (
        getattr(connection, "status", None) == psutil.CONN_LISTEN
        and bool(address)
        and address.port == port
        and (address.ip == host or address.ip in ANY_ADDRESS or host in ANY_ADDRESS)
    )


def describe_command(process: psutil.Process) -> str:
    """A process's command line as a person would type it: `python -m chatlib.stages.ii_6.server`."""
    try:
        arguments = process.cmdline()
    except psutil.Error:
        arguments = []
    if not arguments:
        with suppress(psutil.Error):
            return process.name()
        return "a program"
    command = " ".join([Path(arguments[0]).name, *arguments[1:]])
    if len(command) > MAX_COMMAND_CHARACTERS:
        command = command[: MAX_COMMAND_CHARACTERS - 3] + "..."
    return command
