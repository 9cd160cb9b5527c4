"""What one idle connection costs the server, item by item: ``python -m chatlib.bench.connection_cost``.

``python -m chatlib.bench --idle 1000`` measures the server's resident memory from outside, which
says how much a connection costs but not what for. This runs the finished server in this
process under tracemalloc instead, connects the clients from a load process as ``--idle`` does
(greeted, then all in one room), and prints what the server holds per connection:

- the Python memory it allocated, in all and by the line of code that allocated it (tracemalloc:
  every object, string and buffer, whoever made it: our code, asyncio's, the socket module's);
- the objects it holds more, by type (gc), with their sizes (``sys.getsizeof``; objects with a
  ``__dict__`` keep their attributes in a separate block, counted by tracemalloc only).

tracemalloc slows the server down several times: its figures are for idle connections, not for
a load. A few clients connect first, so that what the first connection loads once (the tables
of characters for names, asyncio's own structures) is not counted as every connection's.

Examples::

    python -m chatlib.bench.connection_cost
    python -m chatlib.bench.connection_cost --connections 500 --loop uvloop --lines 30
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import linecache
import os
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chatlib.app.server.chat_server import ChatServer
from chatlib.app.server.limits import ServerLimits
from chatlib.app.server.main import event_loop_factory
from chatlib.app.shared.logfiles import ConversationLog
from chatlib.bench.limits import raise_open_file_limit
from chatlib.bench.run import IdleRun, run_idle
from chatlib.bench.server_process import ServerHandle

WARM_UP_CONNECTIONS = 5
TRACEBACK_FRAMES = 1
SETTLE_SECONDS = 0.3


Place = tuple[str, int]  # (file, line) where memory was allocated


@dataclass
class Checkpoint:
    """What the server held at one point of the run: its traced memory by line, and its objects by type."""

    lines: dict[Place, tuple[int, int]]  # where: (bytes, blocks)
    object_ids: set[int]
    kept: list[object]  # the objects themselves, so that no new object can take a known id
    objects: Counter[str] = field(default_factory=Counter)  # type name: count (only the new ones)
    object_bytes: Counter[str] = field(default_factory=Counter)  # type name: bytes (sys.getsizeof)

    @property
    def traced_bytes(self) -> int:
        """All the Python memory allocated, but this module's own."""
        return sum(size for size, _ in self.lines.values())


_NOT_THE_SERVER = (tracemalloc.Filter(False, __file__), tracemalloc.Filter(False, tracemalloc.__file__))


def take_checkpoint(before: Checkpoint | None) -> Checkpoint:
    """Collect the garbage, then note the traced memory and the objects that ``before`` had not.

    What the measurement allocates itself (a snapshot, a list of objects) is left out.
    """
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(_NOT_THE_SERVER)
    lines = {
        (stat.traceback[0].filename, stat.traceback[0].lineno): (stat.size, stat.count)
        for stat in snapshot.statistics("lineno")
    }
    del snapshot
    gc.collect()
    objects = gc.get_objects()
    point = Checkpoint(lines, {id(obj) for obj in objects}, objects if before is None else [])
    if before is not None:
        for obj in objects:
            if id(obj) not in before.object_ids:
                name = type(obj).__qualname__
                point.objects[name] += 1
                point.object_bytes[name] += sys.getsizeof(obj)
    del objects
    return point


@dataclass
class CostReport:
    """The checkpoints of one run, and how many connections each counted."""

    connections: int
    loop: str
    idle: IdleRun | None = None
    points: dict[str, Checkpoint] = field(default_factory=dict)


async def measure(connections: int, loop_name: str, deadline: float) -> CostReport:
    """Serve ``connections`` idle clients from a load process and take checkpoints along the way."""
    report = CostReport(connections, loop_name)
    with tempfile.TemporaryDirectory(prefix="chat-cost-") as work_dir:
        conversation = ConversationLog(Path(work_dir) / "server.log")
        limits = ServerLimits(rate_limit=None, connect_rate=None, registration_rate=None)
        server = ChatServer(conversation, data_dir=Path(work_dir), limits=limits)
        host, port = await server.start("127.0.0.1", 0)
        handle = ServerHandle(host, port, os.getpid(), False, "off", loop_name, "none")
        try:
            warm_up = await asyncio.to_thread(run_idle, WARM_UP_CONNECTIONS, 1, handle, deadline)
            if not warm_up.complete:
                raise RuntimeError(f"the warm-up run failed: {warm_up.problem}")
            tracemalloc.start(TRACEBACK_FRAMES)

            def checkpoint(name: str) -> None:
                """Called by the run between its steps (from its thread), once the server is quiet."""
                time.sleep(SETTLE_SECONDS)
                report.points[name] = take_checkpoint(report.points.get("before"))

            report.idle = await asyncio.to_thread(run_idle, connections, 1, handle, deadline, checkpoint)
        finally:
            tracemalloc.stop()
            await server.stop()
            conversation.close()
    return report


def _per_connection(value: float, connections: int) -> str:
    return f"{value / connections:,.0f}"


def report_text(report: CostReport, lines: int) -> str:
    """The report: traced memory in all, by line of code, and the objects by type, per connection."""
    count = report.connections
    before, greeted, in_room = (report.points[name] for name in ("before", "greeted", "in a room"))
    out = [
        f"what one connection costs the server: {count} clients, {report.loop} event loop, "
        "tracemalloc (Python memory allocated) and gc (objects), per connection",
        f"Python memory       {_per_connection(greeted.traced_bytes - before.traced_bytes, count)} B "
        f"greeted, {_per_connection(in_room.traced_bytes - before.traced_bytes, count)} B in one room",
        "",
        f"by line of code (greeted; the {lines} largest):",
        f"{'bytes':>7} {'blocks':>6}  where",
    ]
    growth = {
        place: (size - before.lines.get(place, (0, 0))[0], blocks - before.lines.get(place, (0, 0))[1])
        for place, (size, blocks) in greeted.lines.items()
    }
    largest = sorted(growth.items(), key=lambda item: -abs(item[1][0]))[:lines]
    for (filename, lineno), (size, blocks) in largest:
        code = linecache.getline(filename, lineno).strip()
        out.append(
            f"{_per_connection(size, count):>7} {blocks / count:>6.2f}  "
            f"{_short_path(filename)}:{lineno}  {code[:60]}"
        )
    rest = greeted.traced_bytes - before.traced_bytes - sum(size for _, (size, _) in largest)
    out += [f"{_per_connection(rest, count):>7} {'':>6}  everything else", "", "objects by type (greeted):"]
    out.append(f"{'count':>7} {'bytes':>6}  type")
    for name, number in greeted.objects.most_common():
        if number / count < 0.5:
            break
        out.append(f"{number / count:>7.2f} {_per_connection(greeted.object_bytes[name], count):>6}  {name}")
    added = in_room.objects - greeted.objects
    out += ["", "entering a room adds (objects by type):"]
    out += [
        f"{number / count:>7.2f} "
        f"{_per_connection(in_room.object_bytes[name] - greeted.object_bytes[name], count):>6}  {name}"
        for name, number in added.most_common()
        if number / count >= 0.5
    ] or ["      (no object per connection)"]
    return "\n".join(out)


def _short_path(filename: str) -> str:
    """``chatlib/app/server/outbox.py`` or ``asyncio/selector_events.py`` rather than the whole path."""
    parts = Path(filename).parts
    for anchor in ("chatlib", "asyncio", "uvloop"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :])
    return Path(filename).name


def main(argv: list[str] | None = None) -> int:
    """Measure and print; exit status 1 if not every client could connect."""
    parser = argparse.ArgumentParser(
        prog="python -m chatlib.bench.connection_cost",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-n", "--connections", type=int, default=1000, help="idle clients (default 1000)")
    parser.add_argument(
        "--loop", choices=("asyncio", "uvloop"), default="asyncio", help="the server's event loop"
    )
    parser.add_argument("--lines", type=int, default=20, help="lines of code listed (default 20)")
    parser.add_argument("--deadline", type=int, default=120, help="give up after this many seconds")
    options = parser.parse_args(argv)
    if not 1 <= options.connections <= 1000:
        parser.error("--connections must be between 1 and 1000 (the server's limit per address is 1024)")
    raise_open_file_limit()
    factory: Callable[[], asyncio.AbstractEventLoop] | None = event_loop_factory(options.loop)
    with asyncio.Runner(loop_factory=factory) as runner:
        report = runner.run(measure(options.connections, options.loop, time.monotonic() + options.deadline))
    if report.idle is None or not report.idle.complete:
        print(
            f"chatlib.bench.connection_cost: {report.idle.problem if report.idle else 'no run'}",
            file=sys.stderr,
        )
        return 1
    print(report_text(report, options.lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
