"""Strict mode in a real kernel: a wrong file of mycode/ stops the notebook at its check, the course's
solution passes, and a step not written yet never raises.

Each run executes a variant of a course notebook made of check cells only, on a mycode/ folder of
the test's own (the full notebooks run headless in tests/part1 and tests/stages).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from chatlib.classroom.skeletons import write_mycode
from tests.notebook_runner import NOTEBOOKS, cell_text_outputs

pytestmark = pytest.mark.notebook

BROKEN = Path(__file__).parent / "broken"


def variant(name: str, cell_ids: list[str]) -> nbformat.NotebookNode:
    """The notebook `name` reduced to `cell_ids`, in order."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    cells = {cell.id: cell for cell in notebook.cells}
    notebook.cells = [cells[cell_id] for cell_id in cell_ids]
    return notebook


def mycode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, solutions: frozenset[str] = frozenset()) -> Path:
    """A student's mycode/ folder (skeletons, or the course's solution for `solutions`) for the kernel."""
    folder = tmp_path / "mycode"
    write_mycode(folder, solutions=solutions)
    monkeypatch.setenv("CHATLIB_MYCODE", str(folder))
    return folder


def execute_strictly(
    notebook: nbformat.NotebookNode, monkeypatch: pytest.MonkeyPatch
) -> nbformat.NotebookNode:
    """Run the notebook in a fresh kernel with CHATLIB_CHECKS_STRICT=1 in its environment."""
    monkeypatch.setenv("CHATLIB_CHECKS_STRICT", "1")
    NotebookClient(
        notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return notebook


CHAT_CELLS = ["8be627d3", "check-ii-4", "check-ii-5"]


def test_a_wrong_ii_4_server_stops_the_notebook_in_strict_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = mycode(tmp_path, monkeypatch)
    shutil.copy(BROKEN / "echo_server.py", folder / "ii_4_server.py")
    wrong = variant("02_chat_room.ipynb", CHAT_CELLS)
    with pytest.raises(CellExecutionError) as raised:
        execute_strictly(wrong, monkeypatch)
    message = str(raised.value)
    assert "CheckFailed" in message
    assert "FAIL                server never sends a message back to its sender" in message
    assert "got its own message back" in message
    assert cell_text_outputs(wrong.cells[2]) == ""  # nothing ran after the failed check


def test_the_course_solution_passes_in_strict_mode_and_skeletons_do_not_raise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mycode(tmp_path, monkeypatch, solutions=frozenset({"ii_4"}))
    right = variant("02_chat_room.ipynb", CHAT_CELLS)
    execute_strictly(right, monkeypatch)
    ii_4, ii_5 = cell_text_outputs(right.cells[1]), cell_text_outputs(right.cells[2])
    assert ii_4.startswith("Checks for ii_4 (a working chat): ") and " 0 failed\n" in ii_4
    assert ii_4.endswith("ii_4: every scenario checked passed")
    assert ii_5.startswith("Checks for ii_5 (pseudos): 0 passed, 0 failed, ")
    assert "not implemented yet (to write: handle_client, run_client)\n" in ii_5
    assert (
        "  not implemented yet server announces 'Annonce : PSEUDO a rejoint la chatroom' to everyone" in ii_5
    )


def test_a_blocking_sleep_stops_the_part_one_notebook_and_the_solution_passes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = mycode(tmp_path, monkeypatch)
    shutil.copy(BROKEN / "blocking_count.py", folder / "sleep_async.py")
    cells = ["start-site", "check-sleep-async", "cleanup"]
    with pytest.raises(CellExecutionError) as raised:
        execute_strictly(variant("01_async_first_steps.ipynb", cells), monkeypatch)
    assert "time.sleep() inside a coroutine?" in str(raised.value)

    mycode(tmp_path / "solved", monkeypatch, solutions=frozenset({"sleep_sync", "sleep_async"}))
    right = execute_strictly(variant("01_async_first_steps.ipynb", cells), monkeypatch)
    assert cell_text_outputs(right.cells[1]).startswith(
        "Checks for sleep_async (sleep and print, asynchronous): 2 passed, 0 failed\n"
    )


def test_a_file_that_cannot_be_imported_fails_its_scenarios_in_one_line_each(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = mycode(tmp_path, monkeypatch, solutions=frozenset({"ii_4"}))
    (folder / "ii_4_client.py").write_text(
        "async def run_client(host, port, read_line, show):\n    return (\n"
    )
    notebook = variant("02_chat_room.ipynb", CHAT_CELLS[:2])
    NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    report = cell_text_outputs(notebook.cells[1]).splitlines()
    assert report[0].startswith("Checks for ii_4 (a working chat): ") and " passed, 3 failed" in report[0]
    problem = (
        "mycode/ii_4_client.py cannot be imported: SyntaxError: '(' was never closed (ii_4_client.py, line 2)"
    )
    assert report.count(f"                        {problem}") == 3
    assert "  FAIL                client sends Hello first" in report


def test_complete_mode_fails_a_step_not_written_yet_for_autograders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mycode(tmp_path, monkeypatch, solutions=frozenset({"ii_4"}))
    monkeypatch.setenv("CHATLIB_CHECKS_COMPLETE", "1")
    notebook = variant("02_chat_room.ipynb", CHAT_CELLS)
    with pytest.raises(CellExecutionError) as raised:
        NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    assert "CheckFailed" in str(raised.value) and "Checks for ii_5 (pseudos): 0 passed" in str(raised.value)
    assert cell_text_outputs(notebook.cells[1]).endswith("ii_4: every scenario checked passed")
