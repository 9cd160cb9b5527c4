"""``python -m chatlib.bench``: the latency samples of ``--json --samples``, and a load with one sender."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from chatlib.bench.stats import percentile

TIMEOUT_SECONDS = 60


def bench(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the benchmark command and return what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "chatlib.bench", "--deadline", "40", *arguments],
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
    )


def test_samples_lists_every_latency_sample_of_each_run_sorted() -> None:
    finished = bench("--json", "--samples", "--mode", "window", "-w", "2", "-n", "4", "-s", "4", "-m", "30",
                     "--repeat", "2")
    assert finished.returncode == 0, finished.stderr
    runs = json.loads(finished.stdout)["runs"]
    assert len(runs) == 2
    for run in runs:
        samples = run["latencies_ns"]
        assert len(samples) == run["latency_samples"] > 0
        assert samples == sorted(samples) and samples[0] > 0
        assert (percentile(samples, 0.50) / 1e6, percentile(samples, 0.99) / 1e6, samples[-1] / 1e6) == (
            run["latency_p50_ms"], run["latency_p99_ms"], run["latency_max_ms"]
        )


def test_without_samples_the_json_report_leaves_them_out() -> None:
    finished = bench("--json", "--mode", "flood", "-n", "3", "-s", "2", "-m", "20")
    assert finished.returncode == 0, finished.stderr
    [run] = json.loads(finished.stdout)["runs"]
    assert "latencies_ns" not in run and run["latency_samples"] > 0


def test_samples_without_json_is_refused() -> None:
    finished = bench("--samples", "--mode", "flood", "-n", "3", "-s", "2")
    assert finished.returncode == 2
    assert finished.stderr.splitlines()[-1] == (
        "python -m chatlib.bench: error: --samples goes with --json, for a fan-out run"
    )


def test_a_lone_sender_expects_nothing_and_the_run_ends_when_the_others_have_everything() -> None:
    started = time.monotonic()
    finished = bench("--mode", "flood", "-n", "3", "-s", "1", "-m", "5")
    assert finished.returncode == 0, finished.stdout
    assert "10 of 10 expected per run: all arrived" in finished.stdout
    assert time.monotonic() - started < 20, "the run waited for the sender to hear its own messages"
