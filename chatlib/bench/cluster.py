"""``python -m chatlib.bench --cluster``: the same load on a standalone server, one cluster node, two nodes.

Each setup gets fresh processes: a standalone ``chat-server``; NATS (one nats-server, JetStream
on) and one ``chat-server --cluster``; NATS and two nodes, the clients dealt between them
(client i on node i mod 2). The report puts the three side by side: deliveries/s, latency, and
the CPU of every process (each chat node, NATS, the busiest load process).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from chatlib.app.cluster.nats_server import LocalNats
from chatlib.bench.run import FanoutRun, Scenario, run_fanout
from chatlib.bench.server_process import ServerHandle, start_server, stop_server
from chatlib.bench.stats import median_of

SETUPS = ("standalone", "cluster, 1 node", "cluster, 2 nodes")


@dataclass
class SetupRuns:
    """The runs of one setup."""

    name: str
    runs: list[FanoutRun] = field(default_factory=list)


def run_setup(name: str, scenario: Scenario, loop: str | None, deadline: float) -> FanoutRun:
    """One run of one setup, with its own fresh processes."""
    if name == "standalone":
        server = start_server(loop)
        try:
            return run_fanout(scenario, server, deadline)
        finally:
            stop_server(server)
    node_count = 2 if name.endswith("2 nodes") else 1
    nats = LocalNats(1).start()
    servers: list[ServerHandle] = []
    try:
        for _ in range(node_count):
            servers.append(start_server(loop, extra=("--cluster", nats.cluster_option)))
        watched = {f"node {number}": handle.pid for number, handle in enumerate(servers[1:], start=2) if handle.pid}
        nats_process = nats.nodes[0].process
        if nats_process is not None:
            watched["NATS"] = nats_process.pid
        nodes = tuple((handle.host, handle.port) for handle in servers)
        return run_fanout(scenario, servers[0], deadline, nodes=nodes, watched=watched)
    finally:
        for handle in servers:
            stop_server(handle)
        nats.stop()


def run_cluster_comparison(scenario: Scenario, loop: str | None, repeat: int, deadline: float) -> list[SetupRuns]:
    """Every setup ``repeat`` times, in turns (so that a slower moment of the machine is shared)."""
    results = [SetupRuns(name) for name in SETUPS]
    for _ in range(repeat):
        for setup in results:
            if time.monotonic() < deadline:
                setup.runs.append(run_setup(setup.name, scenario, loop, deadline))
    return results


def _figure(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}{unit}"


def comparison_text(scenario: Scenario, results: list[SetupRuns]) -> str:
    """The three setups side by side (medians over their runs)."""
    window = f" (window {scenario.window})" if scenario.mode == "window" else ""
    lines = [
        f"chatlib cluster benchmark: {scenario.mode}{window}, N={scenario.clients} clients, "
        f"S={scenario.senders} senders x M={scenario.messages} messages, medians of "
        f"{max(len(setup.runs) for setup in results)} run(s) per setup",
        f"{'setup':<18} {'deliveries/s':>13} {'p50':>9} {'p99':>9}  {'all arrived':<11}  CPU per process",
    ]
    standalone = median_of([run.deliveries_per_s for run in results[0].runs])
    for setup in results:
        runs = setup.runs
        rate = median_of([run.deliveries_per_s for run in runs])
        cpu = {"node 1": median_of([run.server_cpu_percent for run in runs])}
        for name in sorted({name for run in runs for name in run.process_cpu_percent}):
            cpu[name] = median_of([run.process_cpu_percent.get(name) for run in runs])
        cpu["load"] = median_of([max(run.load_cpu_percent, default=None) for run in runs])
        share = f" ({rate / standalone:.0%})" if rate and standalone and setup is not results[0] else ""
        lines.append(
            f"{setup.name:<18} {_figure(rate, digits=0):>13} "
            f"{_figure(median_of([run.latency_p50_ms for run in runs]), ' ms', 2):>9} "
            f"{_figure(median_of([run.latency_p99_ms for run in runs]), ' ms', 2):>9}  "
            f"{'yes' if runs and all(run.complete for run in runs) else 'NO':<11}  "
            + ", ".join(f"{name} {_figure(value, ' %', 0)}" for name, value in cpu.items())
            + share
        )
        for number, run in enumerate(runs, start=1):
            if not run.complete:
                lines.append(f"  INCOMPLETE run {number}: {run.problem}")
    return "\n".join(lines)
