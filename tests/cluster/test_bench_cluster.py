"""``python -m chatlib.bench --cluster`` at a tiny scale: the three setups side by side, every delivery counted."""

from __future__ import annotations

import subprocess
import sys


def test_the_cluster_benchmark_reports_three_setups_side_by_side() -> None:
    command = [sys.executable, "-m", "chatlib.bench", "--cluster", "--mode", "window", "--clients", "6"]
    command += ["--senders", "3", "--messages", "50", "--deadline", "120"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    lines = finished.stdout.splitlines()
    assert lines[0].startswith("chatlib cluster benchmark: window (window 8), N=6 clients, S=3 senders x M=50")
    assert [line.split("  ")[0].strip() for line in lines[2:5]] == ["standalone", "cluster, 1 node", "cluster, 2 nodes"]
    assert all(" yes " in line for line in lines[2:5])
    assert "NATS" in lines[3] and "node 2" in lines[4]
