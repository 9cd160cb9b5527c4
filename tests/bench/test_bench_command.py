"""``python -m chatlib.bench`` at a tiny scale, as a real subprocess against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from chatlib.bench.report import FANOUT_FIGURES, IDLE_FIGURES

TIMEOUT_SECONDS = 60
TINY_FLOOD = ["--mode", "flood", "--clients", "4", "--senders", "3", "--messages", "40"]
TINY_WINDOW = ["--mode", "window", "--window", "2", "--clients", "5", "--senders", "5", "--messages", "30"]


def bench(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the benchmark command and return what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "chatlib.bench", "--deadline", "40", *arguments],
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
    )


def bench_json(*arguments: str) -> dict[str, Any]:
    """Run the benchmark with --json, check it succeeded, and return the parsed report."""
    finished = bench("--json", *arguments)
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


@pytest.mark.parametrize(
    ("arguments", "expected_deliveries"),
    [
        (TINY_FLOOD, 3 * 40 * 3),
        (TINY_WINDOW, 5 * 30 * 4),
        ([*TINY_WINDOW, "--stalled", "1"], 5 * 30 * 4),
        ([*TINY_WINDOW, "--processes", "2"], 5 * 30 * 4),
    ],
    ids=["flood", "window", "window-with-a-stalled-client", "window-from-two-load-processes"],
)
def test_fanout_report_is_complete_and_every_delivery_arrived(
    arguments: list[str], expected_deliveries: int
) -> None:
    report = bench_json(*arguments)
    assert report["complete"] is True
    assert report["scenario"]["expected_deliveries"] == expected_deliveries
    [run] = report["runs"]
    assert (run["delivered"], run["expected"], run["receivers_short"], run["problem"]) == (
        expected_deliveries, expected_deliveries, 0, None
    )
    assert run["latency_samples"] > 0
    for figure in FANOUT_FIGURES:
        assert report["median"][figure] is not None, figure
    median = report["median"]
    assert median["latency_p50_ms"] <= median["latency_p99_ms"] <= median["latency_max_ms"]
    assert report["server"]["started_by_bench"] is True
    assert report["server"]["rate_limiting"] == "off (--no-rate-limit)", "a flood rate limit would be measured"
    assert report["server"]["loop"]


def test_idle_report_counts_every_connection() -> None:
    report = bench_json("--idle", "6")
    assert report["complete"] is True
    [run] = report["runs"]
    assert (run["connections"], run["connected"], run["problem"]) == (6, 6, None)
    for figure in IDLE_FIGURES:
        assert report["median"][figure] is not None, figure


def test_text_report_has_every_line_and_no_missing_figure() -> None:
    finished = bench(*TINY_FLOOD, "--repeat", "2")
    assert finished.returncode == 0, finished.stderr
    labels = [line.split("  ")[0] for line in finished.stdout.splitlines()[1:]]
    assert labels == [
        "server", "rate limiting", "event loop", "console log", "deliveries", "deliveries/s",
        "latency", "duration", "server CPU", "server peak RSS", "load CPU",
    ]
    assert "2 runs (medians)" in finished.stdout
    assert "360 of 360 expected per run: all arrived" in finished.stdout
    assert "n/a" not in finished.stdout and "INCOMPLETE" not in finished.stdout


def test_unreachable_target_is_a_one_line_error() -> None:
    finished = bench("--target", "127.0.0.1:1", *TINY_FLOOD)
    assert finished.returncode == 1
    assert finished.stderr.startswith("chatlib.bench: cannot connect to 127.0.0.1:1")
    assert finished.stderr.count("\n") == 1 and finished.stdout == ""


def test_a_remote_target_is_refused() -> None:
    finished = bench("--target", "192.0.2.1:8888")
    assert (finished.returncode, finished.stderr) == (
        1, "chatlib.bench: 192.0.2.1 is not a loopback address: the benchmark stays on this machine\n"
    )


def test_impossible_loads_are_refused_before_anything_starts() -> None:
    finished = bench("--clients", "3", "--senders", "4")
    assert finished.returncode == 2
    assert "--senders (4) cannot exceed --clients (3)" in finished.stderr


def test_the_deadline_ends_a_run_with_an_incomplete_report() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "chatlib.bench", "--deadline", "2", "--mode", "window", "--window", "1",
         "--clients", "3", "--senders", "1", "--messages", "5000000"],
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
    )
    assert finished.returncode == 1
    assert "of 10,000,000 expected per run: NOT ALL ARRIVED" in finished.stdout
    assert "INCOMPLETE run 1: the deadline was reached before every message arrived" in finished.stdout
    assert finished.stderr == ""


def test_reference_runs_the_same_load_on_the_minimal_relay_and_reports_the_share() -> None:
    report = bench_json(*TINY_FLOOD, "--reference")
    expected = 3 * 40 * 3
    [run] = report["runs"]
    [reference_run] = report["reference"]["runs"]
    assert (run["delivered"], reference_run["delivered"]) == (expected, expected)
    assert reference_run["complete"] is True
    share = report["reference"]["server_share"]
    assert share == run["deliveries_per_s"] / reference_run["deliveries_per_s"]


def test_reference_text_report_ends_with_the_relays_figures() -> None:
    finished = bench(*TINY_FLOOD, "--reference")
    assert finished.returncode == 0, finished.stderr
    lines = finished.stdout.splitlines()
    assert lines[-6].startswith("reference relay (python -m chatlib.bench.reference")
    assert lines[-1].startswith("chat server ")
    assert lines[-1].endswith(" of the reference relay's deliveries/s")
    assert "n/a" not in finished.stdout


def test_one_write_per_message_floods_as_well() -> None:
    report = bench_json(*TINY_FLOOD, "--frames-per-write", "1")
    assert report["scenario"]["frames_per_write"] == 1
    assert report["complete"] is True


def test_reference_does_not_go_with_idle() -> None:
    finished = bench("--idle", "3", "--reference")
    assert finished.returncode == 2
    assert "--reference starts a server and a relay side by side" in finished.stderr


def test_connection_cost_lists_what_each_connection_holds() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "chatlib.bench.connection_cost", "--connections", "20", "--lines", "5"],
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
    )
    assert finished.returncode == 0, finished.stderr
    lines = finished.stdout.splitlines()
    assert lines[0].startswith("what one connection costs the server: 20 clients, asyncio event loop")
    assert lines[1].startswith("Python memory ") and lines[1].endswith(" B in one room")
    code_lines = lines[lines.index("by line of code (greeted; the 5 largest):") + 2 :][:6]
    assert len(code_lines) == 6 and code_lines[-1].endswith("everything else")
    table = lines[lines.index("objects by type (greeted):") + 2 :]
    objects = {line.split()[-1]: float(line.split()[0]) for line in table[: table.index("")]}
    assert 1.0 <= objects["Connection"] <= 1.1 and 1.0 <= objects["ClientProtocol"] <= 1.1, objects
