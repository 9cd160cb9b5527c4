"""The Part I notebook runs headless top to bottom and shows what the course says it shows, on a
student's mycode/ holding the course's solutions; each check tests its own step's file."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from chatlib.classroom.exercises import STEPS
from chatlib.classroom.skeletons import write_mycode
from tests.notebook_runner import NOTEBOOKS, cell_text_outputs, execute_notebook

pytestmark = pytest.mark.notebook

INTERLEAVED = "0 0 1 1 2 2 3 3 4 4 5 5 6 6 7 7 8 8 9 9 "
PART_ONE_STEPS = (
    "sleep_sync",
    "sleep_async",
    "web_sync",
    "web_async",
    "web_sync_multiple",
    "web_async_multiple",
)


@pytest.fixture
def solved_mycode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A mycode/ folder holding the course's solution of every step, used by the notebook's kernel."""
    folder = tmp_path / "mycode"
    write_mycode(folder, solutions=frozenset(STEPS))
    monkeypatch.setenv("CHATLIB_MYCODE", str(folder))
    return folder


def test_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOKS / "01_async_first_steps.ipynb", as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code_cells)


def test_notebook_runs_and_teaches_part_one(solved_mycode: Path) -> None:
    notebook = execute_notebook("01_async_first_steps.ipynb")
    cells = {cell.id: cell for cell in notebook.cells}
    for step in PART_ONE_STEPS:
        report = cell_text_outputs(cells[f"check-{step.replace('_', '-')}"])
        assert f"{step}: every scenario checked passed" in report and " 0 failed" in report
    assert cell_text_outputs(cells["your-turn-sleep-sync-code"]).startswith(
        "mycode/sleep_sync.py: open it from the file browser"
    )
    assert cell_text_outputs(cells["run-sleep-sync"]).startswith("0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 \n")
    assert cell_text_outputs(cells["sync-count"]).startswith("0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 \n")
    assert cell_text_outputs(cells["run-sleep-async"]).startswith(INTERLEAVED + "\n")
    assert cell_text_outputs(cells["async-count"]).startswith(INTERLEAVED + "\n")
    errors = [output for output in cells["asyncio-run-fails"].outputs if output.output_type == "error"]
    assert [(error.ename, error.evalue) for error in errors] == [
        ("RuntimeError", "asyncio.run() cannot be called from a running event loop")
    ]
    nested = cell_text_outputs(cells["nested-main"]).splitlines()
    assert nested[:-1] == INTERLEAVED.split() and nested[-1].startswith("Both counts took ")
    # the asynchronous code is on screen, next to its synchronous twin
    side_by_side = cell_text_outputs(cells["ours-sleep-async-code"])
    assert (
        "        time.sleep(pause)" in side_by_side and "        await asyncio.sleep(pause)" in side_by_side
    )
    assert "asyncio.gather(" in cell_text_outputs(cells["ours-web-async-multiple-code"])
    assert "aiohttp.ClientSession" in cell_text_outputs(cells["ours-web-async-code"])
    assert "aiofiles.open" in cell_text_outputs(cells["ours-web-async-write"])
    assert cell_text_outputs(cells["web-async"]) == "True\n"
    assert "web_www.ynov.com" in cell_text_outputs(cells["file-names"])
    for cell_id in ("run-web-sync-multiple", "sync-multiple", "run-web-async-multiple", "async-multiple"):
        assert cell_text_outputs(cells[cell_id]).endswith("10 saved, 2 failed, 1 bad lines\n")
    for cell_id in ("plot-mine", "plot"):
        assert [output.output_type for output in cells[cell_id].outputs] == ["display_data"]
        assert "image/png" in cells[cell_id].outputs[0].data
    assert cell_text_outputs(cells["cleanup"]) == "stand-in site running: False\n"


def test_a_check_run_again_at_the_end_still_tests_its_own_step(solved_mycode: Path) -> None:
    """Later cells define and rebind names (step 7's loop rebinds `count`): the file is what is checked."""
    notebook = nbformat.read(NOTEBOOKS / "01_async_first_steps.ipynb", as_version=4)
    cells = {cell.id: cell for cell in notebook.cells}
    notebook.cells = [
        cells["start-site"],
        cells["check-sleep-sync"],
        cells["your-turn-sleep-async-code"],
        cells["check-sleep-async"],
        cells["measure"],
        nbformat.v4.new_code_cell("count = 3"),
        nbformat.v4.new_code_cell(cells["check-sleep-sync"].source),
        cells["cleanup"],
    ]
    executed = execute_notebook(notebook)
    first, again = cell_text_outputs(executed.cells[1]), cell_text_outputs(executed.cells[6])
    assert first.startswith("Checks for sleep_sync (sleep and print, synchronous): 2 passed, 0 failed\n")
    assert again == first
