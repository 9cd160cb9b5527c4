"""The benchmark's report: the medians of the runs, as aligned text for people or JSON for notebooks."""

from __future__ import annotations

import json
from dataclasses import asdict
from statistics import median

from chatlib.bench.load import load_loop_name
from chatlib.bench.run import FanoutRun, IdleRun, Scenario
from chatlib.bench.stats import median_of

FANOUT_FIGURES = (
    "deliveries_per_s", "latency_p50_ms", "latency_p99_ms", "latency_max_ms", "duration_s",
    "server_cpu_percent", "server_peak_rss_mib", "load_cpu_percent",
)
IDLE_FIGURES = (
    "kib_per_connection", "kib_per_connection_in_room", "connect_time_s",
    "server_rss_before_mib", "server_rss_after_mib", "server_rss_in_room_mib",
)


def fanout_medians(runs: list[FanoutRun]) -> dict[str, float | None]:
    """The median of each figure over the runs (load CPU: the busiest load process of each run)."""
    medians = {
        name: median_of([getattr(run, name) for run in runs])
        for name in FANOUT_FIGURES
        if name != "load_cpu_percent"
    }
    medians["load_cpu_percent"] = median_of([max(run.load_cpu_percent, default=None) for run in runs])
    return medians


def idle_medians(runs: list[IdleRun]) -> dict[str, float | None]:
    """The median of each idle figure over the runs."""
    return {name: median_of([getattr(run, name) for run in runs]) for name in IDLE_FIGURES}


def reference_share(runs: list[FanoutRun], reference_runs: list[FanoutRun]) -> float | None:
    """The chat server's median deliveries/s as a share of the reference relay's."""
    server = fanout_medians(runs)["deliveries_per_s"]
    reference = fanout_medians(reference_runs)["deliveries_per_s"]
    return server / reference if server and reference else None


def fanout_json(
    scenario: Scenario,
    server: dict[str, object],
    runs: list[FanoutRun],
    samples: bool = False,
    reference_runs: list[FanoutRun] | None = None,
) -> str:
    """The whole fan-out result as JSON: settings, server, each run, and the medians.

    With ``samples``, each run also lists its latency samples (``latencies_ns``, sorted), e.g. for
    a notebook to plot their distribution; they are left out by default, being many. With
    ``reference_runs`` (``--reference``), the reference relay's medians and runs, and the ratio.
    """
    report: dict[str, object] = {
        "benchmark": "fanout",
        "scenario": {**asdict(scenario), "expected_deliveries": scenario.expected_deliveries},
        "load_loop": load_loop_name(),
        "server": server,
        "complete": bool(runs) and all(run.complete for run in runs),
        "median": fanout_medians(runs),
        "runs": [_run_fields(run, samples) for run in runs],
    }
    if reference_runs:
        report["reference"] = {
            "median": fanout_medians(reference_runs),
            "runs": [_run_fields(run, samples) for run in reference_runs],
            "server_share": reference_share(runs, reference_runs),
        }
    return json.dumps(report, indent=2)


def _run_fields(run: FanoutRun, samples: bool) -> dict[str, object]:
    """One run's figures for the JSON report, its latency samples only if asked for."""
    fields = asdict(run)
    if not samples:
        del fields["latencies_ns"]
    return fields


def idle_json(connections: int, server: dict[str, object], runs: list[IdleRun]) -> str:
    """The whole idle result as JSON."""
    return json.dumps({
        "benchmark": "idle",
        "connections": connections,
        "server": server,
        "complete": bool(runs) and all(run.complete for run in runs),
        "median": idle_medians(runs),
        "runs": [asdict(run) for run in runs],
    }, indent=2)


def _number(value: float | None, unit: str = "", digits: int = 1) -> str:
    """A figure for the text report, or "n/a" when it could not be measured."""
    return "n/a" if value is None else f"{value:,.{digits}f}{unit}"


def _server_lines(server: dict[str, object]) -> list[str]:
    """The report's lines about the server: where, who started it, and how it was configured."""
    origin = "started by the bench" if server["started_by_bench"] else "a running server (--target)"
    return [
        f"server              {server['address']}, {origin}, pid {server['pid'] or 'unknown'}",
        f"rate limiting       {server['rate_limiting']}",
        f"event loop          {server['loop']}",
        f"console log         {server['console_log']}",
    ]


def _outcome(runs: list[FanoutRun] | list[IdleRun]) -> list[str]:
    """The completeness line, then the reason of each incomplete run."""
    lines = []
    for number, run in enumerate(runs, start=1):
        if not run.complete:
            lines.append(f"INCOMPLETE run {number}: {run.problem}")
    return lines


def fanout_text(scenario: Scenario, server: dict[str, object], runs: list[FanoutRun]) -> str:
    """The fan-out result for a terminal: medians over the runs, one figure a line."""
    figures = fanout_medians(runs)
    complete = bool(runs) and all(run.complete for run in runs)
    window = f" (window {scenario.window})" if scenario.mode == "window" else ""
    delivered = median([run.delivered for run in runs]) if runs else 0
    per_run = ", ".join(_number(run.deliveries_per_s, digits=0) for run in runs)
    lines = [
        f"chatlib fan-out benchmark: {scenario.mode}{window}, N={scenario.clients} clients, "
        f"S={scenario.senders} senders x M={scenario.messages} messages, "
        f"{scenario.processes} load process{'es' if scenario.processes > 1 else ''} ({load_loop_name()}), "
        f"{len(runs)} run{'s' if len(runs) != 1 else ''} (medians)"
        + (f", plus {scenario.stalled} stalled client(s) that stop reading" if scenario.stalled else ""),
        *_server_lines(server),
        f"deliveries          {delivered:,.0f} of {scenario.expected_deliveries:,} expected per run: "
        + ("all arrived" if complete else "NOT ALL ARRIVED"),
        f"deliveries/s        {_number(figures['deliveries_per_s'], digits=0)}   (each run: {per_run})",
        f"latency             p50 {_number(figures['latency_p50_ms'], ' ms', 2)}   "
        f"p99 {_number(figures['latency_p99_ms'], ' ms', 2)}   "
        f"max {_number(figures['latency_max_ms'], ' ms', 2)}   "
        f"({sum(run.latency_samples for run in runs):,} samples)",
        f"duration            {_number(figures['duration_s'], ' s', 2)}",
        f"server CPU          {_number(figures['server_cpu_percent'], ' %', 0)}",
        f"server peak RSS     {_number(figures['server_peak_rss_mib'], ' MiB', 1)}",
        f"load CPU            {_number(figures['load_cpu_percent'], ' %', 0)} (busiest load process)",
        *_outcome(runs),
    ]
    return "\n".join(lines)


def reference_text(runs: list[FanoutRun], reference_runs: list[FanoutRun]) -> str:
    """The reference relay's figures on the same load (``--reference``), and the chat server's share."""
    figures = fanout_medians(reference_runs)
    share = reference_share(runs, reference_runs)
    per_run = ", ".join(_number(run.deliveries_per_s, digits=0) for run in reference_runs)
    lines = [
        "",
        "reference relay (python -m chatlib.bench.reference: no chat features, same batching), same load:",
        f"deliveries/s        {_number(figures['deliveries_per_s'], digits=0)}   (each run: {per_run})",
        f"latency             p50 {_number(figures['latency_p50_ms'], ' ms', 2)}   "
        f"p99 {_number(figures['latency_p99_ms'], ' ms', 2)}   "
        f"max {_number(figures['latency_max_ms'], ' ms', 2)}",
        f"server CPU          {_number(figures['server_cpu_percent'], ' %', 0)}",
        f"load CPU            {_number(figures['load_cpu_percent'], ' %', 0)} "
        "(busiest load process: near 100 %, the relay was not the limit)",
        f"chat server         {_number(None if share is None else 100 * share, ' %', 0)} of the reference "
        "relay's deliveries/s",
        *_outcome(reference_runs),
    ]
    return "\n".join(lines)


def idle_text(connections: int, server: dict[str, object], runs: list[IdleRun]) -> str:
    """The idle result for a terminal."""
    figures = idle_medians(runs)
    complete = bool(runs) and all(run.complete for run in runs)
    lines = [
        f"chatlib idle benchmark: {connections} clients connected and greeted (HELLO -> WELCOME), "
        f"{len(runs)} run{'s' if len(runs) != 1 else ''} (medians)",
        *_server_lines(server),
        f"connected           {min((run.connected for run in runs), default=0):,} of {connections:,}: "
        + ("all connected" if complete else "NOT ALL CONNECTED"),
        f"time to connect     {_number(figures['connect_time_s'], ' s', 3)}",
        f"server RSS          {_number(figures['server_rss_before_mib'], ' MiB', 1)} before, "
        f"{_number(figures['server_rss_after_mib'], ' MiB', 1)} greeted, "
        f"{_number(figures['server_rss_in_room_mib'], ' MiB', 1)} all in one room",
        f"memory/connection   {_number(figures['kib_per_connection'], ' KiB', 1)} greeted, "
        f"{_number(figures['kib_per_connection_in_room'], ' KiB', 1)} in one room",
        *_outcome(runs),
    ]
    return "\n".join(lines)
