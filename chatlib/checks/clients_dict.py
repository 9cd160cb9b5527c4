"""The lab sheet's `CLIENTS` dictionary, looked at in the student's module while clients come and go.

From ii_4 the server keeps a module-level `CLIENTS` dict keyed by the client's `(IP, port)` tuple,
each value a dict with the reader `"r"` and the writer `"w"` (from ii_5 also `"pseudo"`); a client
is in it once, and (ii_6) leaves it when it goes. The check finds the module through the server
function's globals: a notebook's cells share one namespace, and a file's functions its module's.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from chatlib.checks.report import Mismatch

Address = tuple[str, int]
POLL_SECONDS = 0.01
SHAPE = "a dict keyed by the (IP, port) tuple, each value a dict with the reader 'r' and the writer 'w'"


def module_namespace(server: Callable[..., Any]) -> dict[str, Any] | None:
    """The global namespace the student's server function was defined in (None if it has none)."""
    target: Any = inspect.unwrap(server)
    while isinstance(target, functools.partial):
        target = inspect.unwrap(target.func)
    return getattr(target, "__globals__", None)


def describe_clients(clients: Any, addresses: list[Address]) -> str:
    """CLIENTS as a report shows it: the entries about `addresses` (readers and writers named briefly),
    and how many others it holds (connections of earlier scenarios)."""
    if not isinstance(clients, Mapping):
        return _short(clients)
    ports = [str(port) for _, port in addresses]
    shown = [key for key in clients if key in addresses or any(port in repr(key) for port in ports)]
    entries = [f"{key!r}: {_describe_entry(clients[key])}" for key in shown]
    others = len(clients) - len(shown)
    return (
        "{" + ", ".join(entries) + "}" + (f" (and {others} entries of earlier connections)" if others else "")
    )


def _describe_entry(value: Any) -> str:
    if not isinstance(value, Mapping):
        return _short(value)
    return "{" + ", ".join(f"{key!r}: {_short(item)}" for key, item in value.items()) + "}"


def _short(value: Any) -> str:
    if isinstance(value, asyncio.StreamReader):
        return "<StreamReader>"
    if isinstance(value, asyncio.StreamWriter):
        peer = value.get_extra_info("peername")
        return f"<StreamWriter to {peer[0]}:{peer[1]}>" if peer else "<StreamWriter>"
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def clients_problem(
    namespace: dict[str, Any] | None, present: dict[Address, str | None], gone: list[Address]
) -> str | None:
    """What is wrong with CLIENTS, given who is connected (address -> pseudo, None before ii_5) and who
    left (only checked when given); None when it is right. Entries of other connections are ignored."""
    if namespace is None or "CLIENTS" not in namespace:
        return (
            "your server's module has no CLIENTS: keep the connected clients in a module-level dict CLIENTS"
        )
    clients = namespace["CLIENTS"]
    if not isinstance(clients, dict):
        return f"CLIENTS must be {SHAPE}, not a {type(clients).__name__}"
    for address, pseudo in present.items():
        if address not in clients:
            wrong_keys = [f"{address[0]}:{address[1]}", (address[0], str(address[1])), address[1], pseudo]
            for wrong_key in [key for key in wrong_keys if key is not None]:
                if wrong_key in clients:
                    return f"CLIENTS must be keyed by the (IP, port) tuple, such as {address!r}, not {wrong_key!r}"
            return f"the client {address[0]}:{address[1]} is connected but not in CLIENTS (key {address!r})"
        problem = entry_problem(address, clients[address], pseudo)
        if problem is not None:
            return problem
        keys = [key for key, entry in clients.items() if writer_address(entry) == address]
        if len(keys) > 1:
            shown = ", ".join(map(repr, keys))
            return (
                f"the client {address[0]}:{address[1]} is in CLIENTS {len(keys)} times ({shown}): add it once"
            )
    for address in gone:
        if address in clients:
            return (
                f"the client {address[0]}:{address[1]} left, but is still in CLIENTS: remove it when it goes"
            )
    return None


def writer_address(entry: Any) -> Address | None:
    """The (IP, port) of the connection whose writer a CLIENTS entry holds, if it holds one."""
    writer = entry.get("w") if isinstance(entry, dict) else None
    if not isinstance(writer, asyncio.StreamWriter):
        return None
    peer = writer.get_extra_info("peername")
    return (peer[0], peer[1]) if peer else None


def entry_problem(address: Address, entry: Any, pseudo: str | None) -> str | None:
    """What is wrong with one client's value in CLIENTS, or None."""
    if not isinstance(entry, dict):
        return f"CLIENTS[{address!r}] must be a dict with 'r' and 'w', not a {type(entry).__name__}"
    keys = f" (its keys: {', '.join(map(repr, entry))})"
    if not isinstance(entry.get("r"), asyncio.StreamReader):
        return f"CLIENTS[{address!r}]['r'] must be the client's StreamReader{keys}"
    if not isinstance(entry.get("w"), asyncio.StreamWriter):
        return f"CLIENTS[{address!r}]['w'] must be the client's StreamWriter{keys}"
    if writer_address(entry) != address:
        return f"CLIENTS[{address!r}]['w'] is the writer of another connection"
    if pseudo is not None and entry.get("pseudo") != pseudo:
        return f"CLIENTS[{address!r}]['pseudo'] must be {pseudo!r}, the pseudo of its Hello|{pseudo}"
    return None


async def expect_clients(
    server: Callable[..., Any],
    present: dict[Address, str | None],
    gone: list[Address],
    sent: str,
    wait: float,
) -> None:
    """Wait (up to `wait` s) for CLIENTS to hold exactly the clients expected; Mismatch if it does not."""
    namespace = module_namespace(server)
    problem = clients_problem(namespace, present, gone)
    try:
        async with asyncio.timeout(wait):
            while problem is not None:
                await asyncio.sleep(POLL_SECONDS)
                problem = clients_problem(namespace, present, gone)
    except TimeoutError:
        pass
    if problem is None:
        return
    expected = ", ".join(
        f"{address!r}: {{'r': <StreamReader>, 'w': <StreamWriter>"
        + (f", 'pseudo': {pseudo!r}" if pseudo is not None else "")
        + "}"
        for address, pseudo in present.items()
    )
    if namespace and "CLIENTS" in namespace:
        arrived = describe_clients(namespace["CLIENTS"], [*present, *gone])
    else:
        arrived = "no CLIENTS"
    raise Mismatch(
        problem,
        sent=sent,
        expected=f"CLIENTS holding {{{expected}}}" + (" and nobody who left" if gone else ""),
        arrived=f"CLIENTS = {arrived}",
    )
