"""Notebook 04 (the benchmark at a small scale) run headless; its helpers (chatlib.notebook.bench_demo)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator

import nbformat
import psutil
import pytest

from chatlib.bench.stats import percentile
from chatlib.notebook.bench_demo import (
    TABLE_HEADER,
    BenchFailed,
    bench_arguments,
    parse_report,
    plot_latency,
    plot_throughput,
    processes_left_running,
    queue_estimate,
    run_bench,
    run_bench_command,
)
from tests.notebook_runner import NOTEBOOKS, cell_text_outputs, execute_notebook

NOTEBOOK = "04_how_fast.ipynb"
CLIENT_COUNTS = (4, 8, 16, 32)
MESSAGES = 200
ROW = re.compile(
    r"(?P<mode>flood|window 8) +(?P<clients>\d+) +(?P<senders>\d+) +(?P<messages>\d+) +"
    r"(?P<delivered>[\d,]+)/(?P<expected>[\d,]+) +(?P<rate>[\d,]+) +(?P<per_message>[\d,]+) +"
    r"(?P<p50>[\d.]+) +(?P<p99>[\d.]+)"
)


def code_cell(notebook: nbformat.NotebookNode, cell_id: str) -> nbformat.NotebookNode:
    """The code cell with this id."""
    [cell] = [cell for cell in notebook.cells if cell.get("id") == cell_id]
    assert cell.cell_type == "code"
    return cell


def number(text: str) -> int:
    """A whole number printed with thousands separators."""
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def executed() -> Iterator[nbformat.NotebookNode]:
    """The notebook run once, top to bottom, in a real kernel."""
    yield execute_notebook(NOTEBOOK)


def test_stored_notebook_has_no_outputs() -> None:
    stored = nbformat.read(NOTEBOOKS / NOTEBOOK, as_version=4)
    code_cells = [cell for cell in stored.cells if cell.cell_type == "code"]
    assert code_cells and all(not cell.outputs and cell.execution_count is None for cell in code_cells)
    assert 10 <= len(stored.cells) <= 16


@pytest.mark.notebook
def test_one_run_prints_the_command_and_a_complete_report(executed: nbformat.NotebookNode) -> None:
    text = cell_text_outputs(code_cell(executed, "fast-03"))
    lines = text.splitlines()
    assert lines[0] == (
        "$ python -m chatlib.bench --mode window --clients 8 --senders 8 --messages 200 --window 8"
    )
    assert lines[1].startswith(
        "chatlib fan-out benchmark: window (window 8), N=8 clients, S=8 senders x M=200 messages"
    )
    assert "deliveries          11,200 of 11,200 expected per run: all arrived" in lines
    assert "n/a" not in text and "INCOMPLETE" not in text


@pytest.mark.notebook
def test_series_has_one_complete_row_per_size_and_mode(executed: nbformat.NotebookNode) -> None:
    lines = cell_text_outputs(code_cell(executed, "fast-05")).splitlines()
    assert lines[0] == TABLE_HEADER
    rows = [ROW.fullmatch(line) for line in lines[1:]]
    assert all(rows), lines
    assert [(row["mode"], int(row["clients"])) for row in rows] == [
        (mode, clients) for clients in CLIENT_COUNTS for mode in ("flood", "window 8")
    ]
    for row in rows:
        clients = int(row["clients"])
        assert (int(row["senders"]), int(row["messages"])) == (clients, MESSAGES)
        expected = clients * MESSAGES * (clients - 1)
        assert number(row["delivered"]) == number(row["expected"]) == expected, row.group(0)
        assert number(row["rate"]) > 0 and float(row["p50"]) <= float(row["p99"])


@pytest.mark.notebook
@pytest.mark.parametrize("cell_id", ["fast-07", "fast-10"])
def test_figure_cells_show_one_image(executed: nbformat.NotebookNode, cell_id: str) -> None:
    outputs = code_cell(executed, cell_id).outputs
    assert [output.output_type for output in outputs] == ["execute_result"]
    assert outputs[0].data["image/png"]


@pytest.mark.notebook
def test_littles_law_lines_cover_flood_and_window(executed: nbformat.NotebookNode) -> None:
    lines = cell_text_outputs(code_cell(executed, "fast-12")).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("flood     all 32 x 200 = 6,400 messages queued / ")
    assert lines[1].startswith("window 8  at most 32 x 8 = 256 messages queued / ")
    assert "measured max" in lines[0] and "measured p50" in lines[1]


@pytest.mark.notebook
def test_nothing_is_left_running(executed: nbformat.NotebookNode) -> None:
    assert cell_text_outputs(code_cell(executed, "fast-14")) == "nothing left running\n"


# --- The helpers on their own ------------------------------------------------------------------


def test_bench_arguments_name_every_option_and_the_window_only_in_window_mode() -> None:
    assert bench_arguments("flood", 4, messages=50) == [
        "--mode", "flood", "--clients", "4", "--senders", "4", "--messages", "50"
    ]
    assert bench_arguments("window", 6, senders=2, messages=10, window=3) == [
        "--mode", "window", "--clients", "6", "--senders", "2", "--messages", "10", "--window", "3"
    ]


def test_run_bench_returns_the_runs_figures_and_every_latency_sample() -> None:
    run = run_bench("window", clients=4, senders=2, messages=30, window=2)
    assert (run.mode, run.label, run.clients, run.senders, run.messages) == ("window", "window 2", 4, 2, 30)
    assert run.delivered == run.expected == 2 * 30 * 3
    assert run.latencies_ms and list(run.latencies_ms) == sorted(run.latencies_ms)
    assert run.latency_p50_ms == pytest.approx(percentile(run.latencies_ms, 0.50))
    assert run.latency_max_ms == pytest.approx(run.latencies_ms[-1])
    assert run.messages_per_s == pytest.approx(run.deliveries_per_s / 3)
    assert queue_estimate(run).startswith("window 2  at most 2 x 2 = 4 messages queued / ")


def test_plots_draw_one_line_per_mode_and_per_run() -> None:
    runs = [run_bench(mode, clients, messages=20) for clients in (3, 5) for mode in ("flood", "window")]
    deliveries_axes, messages_axes = plot_throughput(runs).axes
    for axes in (deliveries_axes, messages_axes):
        assert [line.get_label() for line in axes.get_lines()] == ["flood", "window 8"]
        assert [list(line.get_xdata()) for line in axes.get_lines()] == [[3, 5], [3, 5]]
    flood_line = deliveries_axes.get_lines()[0]
    assert list(flood_line.get_ydata()) == [runs[0].deliveries_per_s / 1e6, runs[2].deliveries_per_s / 1e6]
    [latency_axes] = plot_latency(runs[2:]).axes
    curves_then_guides = [len(runs[2].latencies_ms), len(runs[3].latencies_ms), 2, 2]  # guides: p50, p99
    assert [len(line.get_xdata()) for line in latency_axes.get_lines()] == curves_then_guides


def test_an_incomplete_run_is_an_error_saying_what_arrived() -> None:
    arguments = ["--mode", "flood", "-n", "3", "-s", "1", "-m", "5", "--json", "--samples"]
    report = json.loads(run_bench_command(arguments))
    report["runs"][0].update(complete=False, delivered=7, problem="the deadline was reached")
    reason = r"^flood N=3: 7 of 10 deliveries arrived \(the deadline was reached\)$"
    with pytest.raises(BenchFailed, match=reason):
        parse_report(report)


def test_bad_options_are_a_one_line_error() -> None:
    with pytest.raises(BenchFailed, match=r"^python -m chatlib.bench: error: --senders \(4\) cannot exceed"):
        run_bench_command(bench_arguments("flood", 3, senders=4))


def test_a_run_past_its_timeout_is_stopped_with_everything_it_started() -> None:
    started: dict[int, psutil.Process] = {}
    failure: list[BaseException] = []
    already_there = {process.pid for process in psutil.Process().children(recursive=True)}  # earlier tests'

    def run_too_long() -> None:
        """A window-1 run of millions of messages, given 4 s."""
        try:
            arguments = ["--mode", "window", "-w", "1", "-n", "3", "-s", "1", "-m", "5000000"]
            run_bench_command(arguments, timeout=4)
        except BaseException as error:  # noqa: BLE001 (handed to the test's thread)
            failure.append(error)

    worker = threading.Thread(target=run_too_long)
    worker.start()
    give_up = time.monotonic() + 4
    while worker.is_alive() and time.monotonic() < give_up:
        for process in psutil.Process().children(recursive=True):
            if process.pid not in already_there:
                started.setdefault(process.pid, process)
        time.sleep(0.05)
    worker.join(30)
    assert not worker.is_alive()
    assert [str(error) for error in failure] == ["the benchmark did not finish within 4 s"]
    still_running = [
        process.pid for process in started.values()
        if process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    ]
    assert not still_running, f"still running: {still_running}"
    assert len(started) >= 3, "the bench, its server and its load process should have been seen"
    assert processes_left_running() == []
