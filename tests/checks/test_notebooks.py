"""Strict mode in a real kernel: a wrong 'your turn' cell stops the notebook, the reference passes.

Each run executes a variant of a course notebook made of its 'your turn' and check cells only
(the full notebooks run headless in tests/part1 and tests/stages, where the skeletons report
"not implemented yet" without raising).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.notebook_runner import NOTEBOOKS, cell_text_outputs

pytestmark = pytest.mark.notebook

BROKEN = Path(__file__).parent / "broken"


def variant(name: str, cell_ids: list[str], replacements: dict[str, str]) -> nbformat.NotebookNode:
    """The notebook `name` reduced to `cell_ids`, in order, with some cells' code replaced."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    cells = {cell.id: cell for cell in notebook.cells}
    notebook.cells = [cells[cell_id] for cell_id in cell_ids]
    for cell_id, source in replacements.items():
        cells[cell_id].source = source
    return notebook


def execute_strictly(
    notebook: nbformat.NotebookNode, monkeypatch: pytest.MonkeyPatch
) -> nbformat.NotebookNode:
    """Run the notebook in a fresh kernel with CHATLIB_CHECKS_STRICT=1 in its environment."""
    monkeypatch.setenv("CHATLIB_CHECKS_STRICT", "1")
    NotebookClient(
        notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return notebook


CHAT_CELLS = ["your-turn-ii-4-code", "check-ii-4", "your-turn-ii-5-code", "check-ii-5"]


def test_a_wrong_ii_4_server_stops_the_notebook_in_strict_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = variant(
        "02_chat_room.ipynb", CHAT_CELLS, {"your-turn-ii-4-code": (BROKEN / "echo_server.py").read_text()}
    )
    with pytest.raises(CellExecutionError) as raised:
        execute_strictly(wrong, monkeypatch)
    message = str(raised.value)
    assert "CheckFailed" in message
    assert "FAIL                server never sends a message back to its sender" in message
    assert "got its own message back" in message
    assert cell_text_outputs(wrong.cells[3]) == ""  # nothing ran after the failed check


def test_the_reference_passes_in_strict_mode_and_skeletons_do_not_raise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    right = variant(
        "02_chat_room.ipynb",
        CHAT_CELLS,
        {"your-turn-ii-4-code": "from chatlib.stages.ii_4.server import CLIENTS, handle_client"},
    )
    execute_strictly(right, monkeypatch)
    ii_4, ii_5 = cell_text_outputs(right.cells[1]), cell_text_outputs(right.cells[3])
    assert ii_4.startswith("Checks for ii_4 (a working chat): 4 passed, 0 failed, 3 not checked")
    assert ii_4.endswith("ii_4: every scenario checked passed")
    assert ii_5.startswith(
        "Checks for ii_5 (pseudos): 0 passed, 0 failed, 6 not implemented yet (to write: handle_client, run_client)\n"
    )
    assert (
        "  not implemented yet server announces 'Annonce : PSEUDO a rejoint la chatroom' to everyone" in ii_5
    )


def test_a_blocking_sleep_stops_the_part_one_notebook_and_the_reference_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cells = ["your-turn-sleep-async-code", "check-sleep-async"]
    wrong = variant(
        "01_async_first_steps.ipynb",
        cells,
        {"your-turn-sleep-async-code": (BROKEN / "blocking_count.py").read_text()},
    )
    with pytest.raises(CellExecutionError) as raised:
        execute_strictly(wrong, monkeypatch)
    assert "time.sleep() inside a coroutine?" in str(raised.value)

    right = variant(
        "01_async_first_steps.ipynb",
        cells,
        {
            "your-turn-sleep-async-code": "from chatlib.first_steps.sleep_and_print_async import count, count_twice"
        },
    )
    execute_strictly(right, monkeypatch)
    assert cell_text_outputs(right.cells[1]).startswith(
        "Checks for sleep_async (sleep and print, asynchronous): 2 passed, 0 failed\n"
    )
