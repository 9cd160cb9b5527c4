"""``python -m chatlib.bench``: run the fan-out (or idle) benchmark and print its report.

Examples::

    python -m chatlib.bench --preset flood-50 --repeat 3
    python -m chatlib.bench --mode window --window 8 --clients 200 --senders 10 --messages 2000
    python -m chatlib.bench --idle 1000
    python -m chatlib.bench --preset flood-50 --reference --repeat 3
    python -m chatlib.bench --target 127.0.0.1:8888 --preset window-50 --json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from chatlib.bench.cluster import comparison_text, run_cluster_comparison
from chatlib.bench.limits import raise_open_file_limit
from chatlib.bench.profile_summary import summarise, summary_text
from chatlib.bench.report import fanout_json, fanout_text, idle_json, idle_text, reference_text
from chatlib.bench.run import DEFAULT_FRAMES_PER_WRITE, FanoutRun, IdleRun, Scenario, run_fanout, run_idle
from chatlib.bench.server_process import (
    ServerHandle,
    ServerProblem,
    start_server,
    stop_server,
    target_server,
)
from chatlib.bench.wire import MAX_CLIENTS, MAX_MESSAGES

PRESETS: dict[str, Scenario] = {
    "flood-50": Scenario("flood", clients=50, senders=50, messages=1000),
    "flood-200": Scenario("flood", clients=200, senders=10, messages=2000),
    "window-50": Scenario("window", clients=50, senders=50, messages=1000, window=8),
    "window-200": Scenario("window", clients=200, senders=10, messages=2000, window=8),
}
DEFAULT_PRESET = "flood-50"
MAX_DELIVERIES = 500_000_000
MAX_IDLE = 20_000
MAX_REPEAT = 10


def count(low: int, high: int) -> type[int]:
    """An argparse type for a whole number between ``low`` and ``high``."""

    def parse(text: str) -> int:
        """The number in ``text``, or an argparse error saying what is wrong with it."""
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    """The command line of the benchmark."""
    parser = argparse.ArgumentParser(
        prog="python -m chatlib.bench",
        description="Fan-out benchmark of the chat server: N clients in one room, S of them sending "
        "M messages each; reports deliveries/s, delivery latency, server CPU and memory.",
        epilog="Presets (the reference loads): " + "; ".join(
            f"{name} = {s.mode}{f' {s.window}' if s.mode == 'window' else ''} "
            f"N={s.clients} S={s.senders} M={s.messages}"
            for name, s in PRESETS.items()
        ),
    )
    parser.add_argument("--preset", choices=PRESETS, help=f"a named load (default {DEFAULT_PRESET}); "
                        "the options below override its values")
    parser.add_argument("--mode", choices=("flood", "window"), help="flood: send as fast as the connection "
                        "takes it; window: at most W messages in flight per sender")
    parser.add_argument("-n", "--clients", type=count(2, MAX_CLIENTS), help="clients in the room (N)")
    parser.add_argument("-s", "--senders", type=count(1, MAX_CLIENTS), help="how many of them send (S)")
    parser.add_argument("-m", "--messages", type=count(1, MAX_MESSAGES), help="messages per sender (M)")
    parser.add_argument("-w", "--window", type=count(1, 100_000),
                        help="window mode: messages in flight per sender")
    parser.add_argument("--frames-per-write", type=count(1, 1000), metavar="F",
                        help=f"flood mode: SAY frames per write (default {DEFAULT_FRAMES_PER_WRITE}; "
                        "1: one write per message)")
    parser.add_argument("--stalled", type=count(0, 1000), default=0, metavar="K",
                        help="also put K clients in the room that stop reading once the run starts "
                        "(not counted): the others' figures should not change")
    parser.add_argument("--idle", type=count(1, MAX_IDLE), metavar="COUNT",
                        help="instead: memory per idle connection and time to connect COUNT clients")
    parser.add_argument("--processes", type=count(1, 64), default=1, help="load processes (default 1)")
    parser.add_argument("--repeat", type=count(1, MAX_REPEAT), default=1,
                        help="runs, each with a fresh server; the report gives medians")
    parser.add_argument("--target", metavar="HOST:PORT", help="benchmark a running server on the loopback "
                        "instead of starting one")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), help="the server's event loop "
                        "(its --loop option; default asyncio)")
    parser.add_argument("--deadline", type=count(1, 3600), default=300, metavar="SECONDS",
                        help="give up after this long in all, with an INCOMPLETE report (default 300)")
    parser.add_argument("--profile", type=Path, metavar="FILE", help="record the server with py-spy "
                        "into FILE (raw collapsed stacks; FILE-2, FILE-3... for later runs) and summarise it")
    parser.add_argument("--reference", action="store_true", help="run each load against the reference "
                        "relay too (a minimal batched asyncio relay, chatlib.bench.reference), alternating "
                        "with the chat server, and report the chat server's share of its deliveries/s")
    parser.add_argument("--cluster", action="store_true", help="run the load on a standalone server, "
                        "one cluster node (NATS) and two nodes, and report them side by side (docs/CLUSTER.md)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--samples", action="store_true", help="with --json: also list each run's "
                        "latency samples in nanoseconds (latencies_ns), to plot their distribution")
    return parser


def scenario_from(options: argparse.Namespace, parser: argparse.ArgumentParser) -> Scenario:
    """The load to run: the preset's values, overridden by the options given."""
    base = PRESETS[options.preset or DEFAULT_PRESET]
    scenario = Scenario(
        mode=options.mode or base.mode,
        clients=options.clients or base.clients,
        senders=options.senders or base.senders,
        messages=options.messages or base.messages,
        window=options.window or base.window,
        processes=options.processes,
        stalled=options.stalled,
        frames_per_write=options.frames_per_write or base.frames_per_write,
    )
    if scenario.senders > scenario.clients:
        parser.error(f"--senders ({scenario.senders}) cannot exceed --clients ({scenario.clients})")
    if scenario.clients < 2 * scenario.processes:
        parser.error(f"each load process needs at least 2 clients: {scenario.clients} clients "
                     f"for {scenario.processes} processes")
    if scenario.expected_deliveries > MAX_DELIVERIES:
        parser.error(f"{scenario.expected_deliveries:,} deliveries is over the limit of {MAX_DELIVERIES:,}")
    return scenario


Runs = list[FanoutRun] | list[IdleRun]


def run_all(
    options: argparse.Namespace, scenario: Scenario
) -> tuple[dict[str, object], Runs, list[FanoutRun]]:
    """Run the benchmark ``--repeat`` times, each against a fresh server unless ``--target``.

    With ``--reference`` each run is followed by the same load on a fresh reference relay;
    its runs come third.
    """
    deadline = time.monotonic() + options.deadline
    runs: list = []
    reference_runs: list[FanoutRun] = []
    server_facts: dict[str, object] = {}
    for number in range(1, options.repeat + 1):
        profile = profile_path(options.profile, number)
        server: ServerHandle = (
            target_server(options.target)
            if options.target
            else start_server(options.loop, profile=profile)
        )
        try:
            server_facts = server.describe()
            if options.idle:
                runs.append(run_idle(options.idle, options.processes, server, deadline))
            else:
                runs.append(run_fanout(scenario, server, deadline))
        finally:
            if server.started_by_bench:
                stop_server(server)
        if options.reference and runs[-1].complete:
            relay = start_server(options.loop, reference=True)
            try:
                reference_runs.append(run_fanout(scenario, relay, deadline))
            finally:
                stop_server(relay)
        if time.monotonic() >= deadline or not runs[-1].complete:
            break
    return server_facts, runs, reference_runs


def profile_path(requested: Path | None, run_number: int) -> Path | None:
    """Where run ``run_number`` writes its profile: the path asked for, numbered after the first run."""
    if requested is None or run_number == 1:
        return requested
    return requested.with_name(f"{requested.stem}-{run_number}{requested.suffix}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 0 when every run was complete, 1 otherwise."""
    parser = build_parser()
    options = parser.parse_args(argv)
    scenario = scenario_from(options, parser)
    if options.profile and options.target:
        parser.error("--profile records a server the bench starts: it cannot go with --target")
    if options.samples and not (options.json and not options.idle):
        parser.error("--samples goes with --json, for a fan-out run")
    if options.reference and (options.idle or options.target or options.cluster):
        parser.error("--reference starts a server and a relay side by side: "
                     "not with --idle, --target or --cluster")
    raise_open_file_limit()
    if options.cluster:
        if options.target or options.idle or options.profile or options.json:
            parser.error("--cluster starts its own servers: not with --target, --idle, --profile or --json")
        results = run_cluster_comparison(scenario, options.loop, options.repeat, time.monotonic() + options.deadline)
        print(comparison_text(scenario, results))
        return 0 if all(run.complete for setup in results for run in setup.runs) else 1
    try:
        server, runs, reference_runs = run_all(options, scenario)
    except ServerProblem as problem:
        print(f"chatlib.bench: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("chatlib.bench: interrupted", file=sys.stderr)
        return 130
    try:
        print_report(options, scenario, server, runs, reference_runs)
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error of the benchmark
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    complete = runs and all(run.complete for run in [*runs, *reference_runs])
    return 0 if complete else 1


def print_report(
    options: argparse.Namespace,
    scenario: Scenario,
    server: dict[str, object],
    runs: Runs,
    reference_runs: list[FanoutRun] | None = None,
) -> None:
    """Print the report (text or JSON), and the profile's summary if one was recorded."""
    if options.idle:
        report = idle_json if options.json else idle_text
        print(report(options.idle, server, runs))
    elif options.json:
        print(fanout_json(scenario, server, runs, options.samples, reference_runs))
    else:
        print(fanout_text(scenario, server, runs))
        if reference_runs:
            print(reference_text(runs, reference_runs))
    if options.profile and not options.json and options.profile.exists():
        print(f"\nserver profile (py-spy) of run 1: {options.profile}")
        print(summary_text(summarise(options.profile.read_text(encoding="utf-8", errors="replace"))))


if __name__ == "__main__":
    sys.exit(main())
