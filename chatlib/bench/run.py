"""The orchestrator: one fan-out run or one idle run, from load processes to measured figures.

It splits the clients among load processes (``load.py``), steps them through join, sync and
go over pipes, watches the server's CPU and memory with psutil meanwhile, and turns what the
processes report into one ``FanoutRun`` or ``IdleRun``. A run never outlives its deadline.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from multiprocessing.connection import wait as wait_for_pipes
from typing import Any

from chatlib.bench.load import IdleResult, LoadPlan, LoadResult, Mode, load_process_main
from chatlib.bench.server_process import (
    MemoryWatch,
    ServerHandle,
    cpu_seconds,
    lifetime_peak_rss,
    rss_bytes,
)
from chatlib.bench.stats import percentile
from chatlib.bench.wire import run_tag

REPORT_GRACE_SECONDS = 5.0  # how long after the deadline the load processes may take to report
PROCESS_EXIT_SECONDS = 5.0
IDLE_SETTLE_SECONDS = 0.2
DEFAULT_FRAMES_PER_WRITE = 64  # flood mode
MEBIBYTE = 1024 * 1024


@dataclass(frozen=True)
class Scenario:
    """One fan-out load: N clients in one room, S of them sending M messages each."""

    mode: Mode
    clients: int
    senders: int
    messages: int
    window: int = 8
    processes: int = 1
    stalled: int = 0  # extra clients in the room that stop reading (the slow-consumer check)
    frames_per_write: int = DEFAULT_FRAMES_PER_WRITE  # flood mode: SAY frames per write

    @property
    def expected_deliveries(self) -> int:
        """Every message reaches every client but its sender."""
        return self.senders * self.messages * (self.clients - 1)


@dataclass
class FanoutRun:
    """The figures of one fan-out run."""

    expected: int
    delivered: int = 0
    complete: bool = False
    problem: str | None = None
    duration_s: float | None = None
    deliveries_per_s: float | None = None
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    latency_max_ms: float | None = None
    latency_samples: int = 0
    latencies_ns: list[int] = field(default_factory=list, repr=False)  # the samples, sorted
    server_cpu_percent: float | None = None
    server_peak_rss_mib: float | None = None
    load_cpu_percent: list[float] = field(default_factory=list)
    receivers_short: int = 0
    other_frames: int = 0
    process_cpu_percent: dict[str, float] = field(default_factory=dict)  # --cluster: each process's CPU


@dataclass
class IdleRun:
    """The figures of one idle run: memory per connected client and the time to connect them."""

    connections: int
    connected: int = 0
    complete: bool = False
    problem: str | None = None
    connect_time_s: float | None = None
    server_rss_before_mib: float | None = None
    server_rss_after_mib: float | None = None
    kib_per_connection: float | None = None  # greeted (HELLO answered), in no room
    server_rss_in_room_mib: float | None = None
    kib_per_connection_in_room: float | None = None  # greeted, then all in one room


class RunAborted(Exception):
    """A load process failed or went silent: the run ends early, with this reason."""


def split_clients(clients: int, processes: int) -> list[tuple[int, ...]]:
    """Deal the client indices round-robin, so that senders (the low indices) spread evenly."""
    return [tuple(range(first, clients, processes)) for first in range(processes)]


class LoadProcesses:
    """The load processes of one run, their pipes, and the commands and reports between them."""

    def __init__(self, plans: list[LoadPlan], deadline: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._deadline = deadline + REPORT_GRACE_SECONDS
        self.pipes: list[Pipe] = []
        self._processes: list[multiprocessing.process.BaseProcess] = []
        for plan in plans:
            ours, theirs = context.Pipe()
            process = context.Process(target=load_process_main, args=(theirs, plan), daemon=True,
                                      name=f"bench-load-{len(self._processes)}")
            process.start()
            theirs.close()
            self.pipes.append(ours)
            self._processes.append(process)

    def tell(self, command: str, pipes: list[Pipe] | None = None) -> None:
        """Send a command to these load processes (all by default)."""
        for pipe in pipes if pipes is not None else self.pipes:
            pipe.send(command)

    def collect(self, kind: str, pipes: list[Pipe] | None = None) -> list[Any]:
        """Wait for a ``kind`` report from each of these processes, in their order."""
        waiting = list(pipes if pipes is not None else self.pipes)
        reports: dict[int, Any] = {}
        while waiting:
            remaining = self._deadline - time.monotonic()
            ready = wait_for_pipes(waiting, timeout=max(0.0, remaining))
            if not ready:
                raise RunAborted(f"the deadline was reached while waiting for the load processes ({kind})")
            for pipe in ready:
                assert isinstance(pipe, Pipe)
                number = self.pipes.index(pipe)
                try:
                    report_kind, payload = pipe.recv()
                except EOFError:
                    raise RunAborted(f"load process {number} exited unexpectedly") from None
                if report_kind == "failed":
                    raise RunAborted(f"load process {number}: {payload}")
                if report_kind != kind:
                    raise RunAborted(f"load process {number} reported {report_kind!r}, not {kind!r}")
                reports[number] = payload
                waiting.remove(pipe)
        return [reports[self.pipes.index(pipe)] for pipe in (pipes if pipes is not None else self.pipes)]

    def kill(self) -> None:
        """End every process at once (the benchmark was interrupted)."""
        for process in self._processes:
            process.kill()

    def close(self) -> None:
        """Tell every process to close its connections and exit; end any that does not."""
        for pipe in self.pipes:
            try:
                pipe.send("close")
            except OSError:
                pass
        for process in self._processes:
            process.join(PROCESS_EXIT_SECONDS)
            if process.is_alive():
                process.kill()
                process.join(PROCESS_EXIT_SECONDS)
        for pipe in self.pipes:
            pipe.close()


def run_fanout(
    scenario: Scenario,
    server: ServerHandle,
    deadline: float,
    nodes: tuple[tuple[str, int], ...] = (),
    watched: dict[str, int] | None = None,
) -> FanoutRun:
    """Run one fan-out load against the server and measure it.

    With ``nodes`` (a cluster's nodes) the clients are spread over them; ``watched`` names more
    processes (the other nodes, NATS) whose CPU is measured too, in ``process_cpu_percent``.
    """
    tag = run_tag()
    watched = watched or {}
    plans = [
        LoadPlan(
            host=server.host, port=server.port, mode=scenario.mode, tag=tag, room=f"bench-{tag}",
            clients=group, total_clients=scenario.clients, total_senders=scenario.senders,
            messages=scenario.messages, window=scenario.window, leader=number == 0, deadline=deadline,
            stalled=scenario.stalled if number == 0 else 0, nodes=nodes,
            flood_chunk=scenario.frames_per_write,
        )
        for number, group in enumerate(split_clients(scenario.clients, scenario.processes))
    ]
    result = FanoutRun(expected=scenario.expected_deliveries)
    processes = LoadProcesses(plans, deadline)
    try:
        with MemoryWatch(server.pid) as memory:
            processes.collect("leader-in", processes.pipes[:1])
            processes.tell("join")
            processes.collect("joined")
            processes.tell("sync")
            processes.collect("ready")
            cpu_before, wall_before = cpu_seconds(server.pid), time.monotonic()
            watched_before = {name: cpu_seconds(pid) for name, pid in watched.items()}
            processes.tell("go")
            reports: list[LoadResult] = processes.collect("done")
            cpu_after, wall_after = cpu_seconds(server.pid), time.monotonic()
            for name, pid in watched.items():
                before, after = watched_before[name], cpu_seconds(pid)
                if before is not None and after is not None:
                    result.process_cpu_percent[name] = 100 * (after - before) / (wall_after - wall_before)
        _fill_fanout(result, reports)
        if cpu_before is not None and cpu_after is not None:
            result.server_cpu_percent = 100 * (cpu_after - cpu_before) / (wall_after - wall_before)
        peaks = [memory.peak]
        if server.started_by_bench and server.pid:
            peaks.append(lifetime_peak_rss(server.pid) or 0)
        result.server_peak_rss_mib = max(peaks) / MEBIBYTE if max(peaks) else None
    except RunAborted as abort:
        result.problem = str(abort)
    except BaseException:  # Ctrl+C: no time for a clean goodbye
        processes.kill()
        raise
    finally:
        processes.close()
    return result


def _fill_fanout(result: FanoutRun, reports: list[LoadResult]) -> None:
    """Combine the load processes' reports into the run's figures."""
    result.delivered = sum(report.delivered for report in reports)
    result.receivers_short = sum(report.receivers_short for report in reports)
    result.other_frames = sum(report.other_frames for report in reports)
    problems = [report.problem for report in reports if report.problem]
    result.problem = problems[0] if problems else None
    result.complete = result.problem is None and result.delivered == result.expected
    if result.delivered != result.expected and result.problem is None:
        result.problem = f"{result.delivered} deliveries counted, {result.expected} expected"
    last_delivery_ns = max(report.last_delivery_ns for report in reports)
    duration_ns = last_delivery_ns - min(report.first_send_ns for report in reports)
    result.duration_s = duration_ns / 1e9
    result.deliveries_per_s = result.delivered / result.duration_s if duration_ns > 0 else None
    latencies = sorted(latency for report in reports for latency in report.latencies_ns)
    result.latency_samples = len(latencies)
    result.latencies_ns = latencies
    if latencies:
        result.latency_p50_ms = percentile(latencies, 0.50) / 1e6
        result.latency_p99_ms = percentile(latencies, 0.99) / 1e6
        result.latency_max_ms = latencies[-1] / 1e6
    result.load_cpu_percent = [
        100 * report.cpu_seconds / report.wall_seconds for report in reports if report.wall_seconds > 0
    ]


def run_idle(
    connections: int,
    process_count: int,
    server: ServerHandle,
    deadline: float,
    checkpoint: Callable[[str], None] | None = None,
) -> IdleRun:
    """Connect ``connections`` idle clients (HELLO handshake) and measure the server's memory growth;
    then bring them all into one room and measure it again.

    ``checkpoint(name)``, if given, is called at each of the three points ("before", "greeted",
    "in a room"), once the server is quiet: ``connection_cost`` looks at the server's heap there.
    """
    note = checkpoint or (lambda name: None)
    tag = run_tag()
    plans = [
        LoadPlan(
            host=server.host, port=server.port, mode="idle", tag=tag, room=f"bench-{tag}", clients=group,
            total_clients=connections, total_senders=0, messages=0, window=0, leader=number == 0,
            deadline=deadline,
        )
        for number, group in enumerate(split_clients(connections, process_count))
    ]
    result = IdleRun(connections)
    time.sleep(IDLE_SETTLE_SECONDS)
    note("before")
    before = rss_bytes(server.pid)
    processes = LoadProcesses(plans, deadline)
    try:
        processes.tell("go")
        reports: list[IdleResult] = processes.collect("done")
        time.sleep(IDLE_SETTLE_SECONDS)
        note("greeted")
        after = rss_bytes(server.pid)
        result.connected = sum(report.connected for report in reports)
        result.complete = result.connected == connections
        duration_ns = max(r.last_welcome_ns for r in reports) - min(r.first_connect_ns for r in reports)
        result.connect_time_s = duration_ns / 1e9
        if before is not None and after is not None:
            result.server_rss_before_mib = before / MEBIBYTE
            result.server_rss_after_mib = after / MEBIBYTE
            result.kib_per_connection = (after - before) / 1024 / connections
        processes.tell("enter")
        processes.collect("leader-in", processes.pipes[:1])
        processes.tell("join")
        processes.collect("joined")
        processes.tell("sync")
        processes.collect("ready")
        time.sleep(IDLE_SETTLE_SECONDS)
        note("in a room")
        in_room = rss_bytes(server.pid)
        if before is not None and in_room is not None:
            result.server_rss_in_room_mib = in_room / MEBIBYTE
            result.kib_per_connection_in_room = (in_room - before) / 1024 / connections
    except RunAborted as abort:
        result.problem = str(abort)
    except BaseException:  # Ctrl+C: no time for a clean goodbye
        processes.kill()
        raise
    finally:
        processes.close()
    return result
