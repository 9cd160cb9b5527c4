"""Run the fan-out benchmark at a small scale from a notebook, and plot what it measured.

Each run is the real command, ``python -m chatlib.bench ... --json --samples``, in a subprocess:
exactly what a student would type in a terminal. The command starts its own server on a free
loopback port, measures, stops the server and exits, so nothing is left running between cells.
``run_series`` runs a few sizes in flood and window mode; ``plot_throughput`` and
``plot_latency`` draw the figures, and ``queue_estimate`` checks the latency against the size
of the queue in front of the server (Little's law).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Literal

import psutil
from matplotlib.figure import Figure

Mode = Literal["flood", "window"]

BENCH_COMMAND = (sys.executable, "-m", "chatlib.bench")
BENCH_DEADLINE_SECONDS = 30  # the bench gives up by itself after this, with a report saying why
RUN_TIMEOUT_SECONDS = 60.0  # only a bench that hangs gets this far
STOP_GRACE_SECONDS = 10.0
MODE_COLORS = {"flood": "tab:red", "window": "tab:blue"}
TABLE_HEADER = (
    f"{'mode':<10}{'N':>4}{'S':>4}{'M':>5}  {'deliveries':>19}  {'deliveries/s':>12}  "
    f"{'messages/s':>10}  {'p50 ms':>7}  {'p99 ms':>7}"
)


class BenchFailed(Exception):
    """The benchmark could not run, or not every delivery arrived; the message says why."""


@dataclass(frozen=True)
class BenchRun:
    """The figures of one benchmark run that the notebook shows and plots."""

    mode: Mode
    window: int
    clients: int
    senders: int
    messages: int
    expected: int
    delivered: int
    deliveries_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    latencies_ms: tuple[float, ...] = field(repr=False)  # every latency sample, sorted

    @property
    def label(self) -> str:
        """The mode as the table and the plots name it: "flood" or "window 8"."""
        return "flood" if self.mode == "flood" else f"window {self.window}"

    @property
    def messages_per_s(self) -> float:
        """Messages the server relayed per second: each one makes N - 1 deliveries."""
        return self.deliveries_per_s / (self.clients - 1)


def bench_arguments(
    mode: Mode, clients: int, senders: int | None = None, messages: int = 200, window: int = 8
) -> list[str]:
    """The benchmark's options for one load: N clients, S senders (all of them by default), M messages."""
    arguments = ["--mode", mode, "--clients", str(clients), "--senders", str(senders or clients),
                 "--messages", str(messages)]
    if mode == "window":
        arguments += ["--window", str(window)]
    return arguments


def run_bench_command(arguments: Sequence[str], timeout: float = RUN_TIMEOUT_SECONDS) -> str:
    """Run ``python -m chatlib.bench`` with these options and return the report it printed.

    Raises BenchFailed if it printed no report (a server that cannot start: its one-line reason).
    If the run is interrupted or hangs, the command is stopped with Ctrl+C (SIGINT), so that it
    stops its server and load processes, and killed only if it does not exit.
    """
    command = [*BENCH_COMMAND, "--deadline", str(BENCH_DEADLINE_SECONDS), *arguments]
    # A session of its own: a Ctrl+C in the notebook reaches the bench only through _stop.
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:
        try:
            report, errors = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            raise BenchFailed(f"the benchmark did not finish within {timeout:.0f} s") from None
        except BaseException:
            _stop(process)
            raise
    if not report.strip():
        reason = errors.strip().splitlines()[-1] if errors.strip() else f"exit status {process.returncode}"
        raise BenchFailed(reason)
    return report


def _stop(process: subprocess.Popen[str]) -> None:
    """End a running benchmark as Ctrl+C would, so that it stops its server and load processes.

    If it does not exit in time it is killed; then anything it started and left behind (its
    process group) is terminated too, and waited for: when this returns, nothing it started runs.
    """
    started: list[psutil.Process] = []
    with suppress(psutil.Error):
        started = psutil.Process(process.pid).children(recursive=True)
    if sys.platform == "win32":
        process.terminate()
    else:
        process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
    if sys.platform != "win32":
        with suppress(ProcessLookupError):  # the usual case: the group is empty, nothing was left
            os.killpg(process.pid, signal.SIGTERM)
    _, still_running = psutil.wait_procs(started, timeout=STOP_GRACE_SECONDS)
    for leftover in still_running:
        with suppress(psutil.Error):
            leftover.kill()


def parse_report(report: dict[str, Any]) -> BenchRun:
    """The figures of the first run of a ``--json --samples`` report.

    Raises BenchFailed when that run did not deliver everything, with the bench's reason.
    """
    scenario, run = report["scenario"], report["runs"][0]
    if not run["complete"]:
        raise BenchFailed(
            f"{scenario['mode']} N={scenario['clients']}: {run['delivered']:,} of {run['expected']:,} "
            f"deliveries arrived ({run['problem']})"
        )
    return BenchRun(
        mode=scenario["mode"], window=scenario["window"], clients=scenario["clients"],
        senders=scenario["senders"], messages=scenario["messages"], expected=run["expected"],
        delivered=run["delivered"], deliveries_per_s=run["deliveries_per_s"],
        latency_p50_ms=run["latency_p50_ms"], latency_p99_ms=run["latency_p99_ms"],
        latency_max_ms=run["latency_max_ms"],
        latencies_ms=tuple(sample / 1e6 for sample in run["latencies_ns"]),
    )


def run_bench(
    mode: Mode, clients: int, senders: int | None = None, messages: int = 200, window: int = 8
) -> BenchRun:
    """Run one load (its own server, one run) and return its figures and latency samples."""
    arguments = [*bench_arguments(mode, clients, senders, messages, window), "--json", "--samples"]
    return parse_report(json.loads(run_bench_command(arguments)))


def table_row(run: BenchRun) -> str:
    """One run as a line of the table under ``TABLE_HEADER``."""
    arrived = f"{run.delivered:,}/{run.expected:,}"
    return (
        f"{run.label:<10}{run.clients:>4}{run.senders:>4}{run.messages:>5}  {arrived:>19}  "
        f"{run.deliveries_per_s:>12,.0f}  {run.messages_per_s:>10,.0f}  "
        f"{run.latency_p50_ms:>7.2f}  {run.latency_p99_ms:>7.2f}"
    )


def run_series(
    client_counts: Iterable[int], messages: int = 200, window: int = 8, show: Callable[[str], None] = print
) -> list[BenchRun]:
    """Run flood and window mode for each number of clients (every client sends), showing each row."""
    show(TABLE_HEADER)
    runs = []
    for clients in client_counts:
        for mode in ("flood", "window"):
            run = run_bench(mode, clients, messages=messages, window=window)
            show(table_row(run))
            runs.append(run)
    return runs


def plot_throughput(runs: Sequence[BenchRun]) -> Figure:
    """Deliveries/s (left) and messages relayed/s (right) against the number of clients, per mode."""
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    deliveries_axes, messages_axes = figure.subplots(1, 2)
    for mode in ("flood", "window"):
        mine = sorted((run for run in runs if run.mode == mode), key=lambda run: run.clients)
        if not mine:
            continue
        clients = [run.clients for run in mine]
        style = {"marker": "o", "color": MODE_COLORS[mode], "label": mine[0].label}
        deliveries_axes.plot(clients, [run.deliveries_per_s / 1e6 for run in mine], **style)
        messages_axes.plot(clients, [run.messages_per_s / 1e3 for run in mine], **style)
    for axes, title, unit in (
        (deliveries_axes, "deliveries per second", "million deliveries/s"),
        (messages_axes, "messages relayed per second", "thousand messages/s"),
    ):
        axes.set_xticks(sorted({run.clients for run in runs}))
        axes.set(title=title, xlabel="clients in the room (N)", ylabel=unit, xlim=(0, None), ylim=(0, None))
        axes.grid(alpha=0.3)
        axes.legend()
    return figure


def plot_latency(runs: Sequence[BenchRun]) -> Figure:
    """The latency distribution (cumulative) of each run, on a log scale of milliseconds."""
    figure = Figure(figsize=(8, 4), layout="constrained")
    axes = figure.subplots()
    for run in runs:
        share = [100 * (rank + 1) / len(run.latencies_ms) for rank in range(len(run.latencies_ms))]
        axes.step(run.latencies_ms, share, where="post", color=MODE_COLORS[run.mode],
                  label=f"{run.label}: p50 {run.latency_p50_ms:.1f} ms, p99 {run.latency_p99_ms:.1f} ms")
    for level in (50, 99):
        axes.axhline(level, color="grey", linestyle="--", linewidth=0.8)
    sizes = ", ".join(sorted({f"N={run.clients} S={run.senders} M={run.messages}" for run in runs}))
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter("{x:g}")
    axes.set(title=f"delivery latency ({sizes})", xlabel="latency (ms, log scale)",
             ylabel="% of samples at most this late", ylim=(0, 101))
    axes.grid(alpha=0.3, which="both")
    axes.legend(loc="lower right")
    return figure


def queue_estimate(run: BenchRun) -> str:
    """Compare the run's latency with the queue in front of the server, by Little's law.

    A message waits behind the messages ahead of it: with Q messages queued and the server
    relaying R messages/s, the wait is about Q / R. In window mode Q is at most S x W; in flood
    mode every message is queued at once, so the last one waits S x M / R.
    """
    if run.mode == "window":
        queued = run.senders * run.window
        what, measured, figure = f"at most {run.senders} x {run.window}", run.latency_p50_ms, "p50"
    else:
        queued = run.senders * run.messages
        what, measured, figure = f"all {run.senders} x {run.messages}", run.latency_max_ms, "max"
    wait_ms = 1000 * queued / run.messages_per_s
    return (
        f"{run.label:<9} {what} = {queued:,} messages queued / {run.messages_per_s:,.0f} messages/s "
        f"= {wait_ms:.1f} ms; measured {figure} {measured:.1f} ms"
    )


def processes_left_running() -> list[str]:
    """The command lines of the processes this one started that are still running."""
    running = []
    for child in psutil.Process().children(recursive=True):
        with suppress(psutil.Error):  # it ended meanwhile, or is a zombie about to be reaped
            running.append(" ".join(child.cmdline()))
    return running
