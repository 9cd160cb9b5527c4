"""Notebook 05 ("Beyond one process") run headless in a real kernel, and stored with a clean run's outputs."""

from __future__ import annotations

import re
from collections.abc import Iterator

import nbformat
import pytest

from tests.notebook_runner import NOTEBOOKS, cell_text_outputs, execute_notebook

NOTEBOOK = "05_beyond_one_process.ipynb"


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The notebook's code cells, in order."""
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def output_of(notebook: nbformat.NotebookNode, snippet: str) -> str:
    """What the one code cell holding ``snippet`` printed."""
    found = [cell for cell in code_cells(notebook) if snippet in cell.source]
    assert len(found) == 1, snippet
    return cell_text_outputs(found[0])


@pytest.fixture(scope="module")
def executed() -> Iterator[nbformat.NotebookNode]:
    """The notebook run once, top to bottom."""
    yield execute_notebook(NOTEBOOK, cell_timeout=180)


@pytest.mark.notebook
def test_the_notebook_shows_pub_sub_jetstream_two_nodes_failures_and_the_benchmark(
    executed: nbformat.NotebookNode,
) -> None:
    ratio = re.search(r"two tasks on one loop take (\d+\.\d) times as long as one", output_of(executed, "def busy"))
    assert ratio is not None and float(ratio.group(1)) >= 1.5  # about 2: one after the other
    assert output_of(executed, "subscription = await").endswith(
        "chat.room.6765cc81... b'bonjour'\nchat.room.6a657578... b'on joue ?'\n"
    )
    assert output_of(executed, "jetstream.add_stream") == (
        "JetStream acknowledged: stream DEMO sequence 1\na late reader still gets: b'kept'\n"
    )
    assert output_of(executed, 'join_chat("bob"') == "bob, on the other node, saw:\n" + "".join(
        f"alice a dit : message {number}\n" for number in range(5)
    )
    history = output_of(executed, 'join_chat("carol"').splitlines()
    assert history[0] == "--- history ---" and history[-1] == "--- now ---"
    assert history[3:8] == [f"alice a dit : message {number}" for number in range(5)]
    assert output_of(executed, "process.kill()") == "bob's last line: Annonce : dave a quitté la chatroom\n"
    assert output_of(executed, "trio.kill(0)").endswith("fred saw: ['erin a dit : before', 'erin a dit : after']\n")
    assert "every delivery arrived: True" in output_of(executed, "run_cluster_comparison")
    assert cell_text_outputs(code_cells(executed)[-1]) == "All stopped.\n"


def test_the_notebook_is_stored_with_the_outputs_of_a_clean_run() -> None:
    stored = nbformat.read(NOTEBOOKS / NOTEBOOK, as_version=4)
    cells = code_cells(stored)
    assert cells and all(cell.outputs and cell.execution_count for cell in cells)
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    assert not any(output.get("output_type") == "error" for cell in cells for output in cell.outputs)
    assert any("image/png" in output.get("data", {}) for output in cells[-2].outputs), "the benchmark's plot"
