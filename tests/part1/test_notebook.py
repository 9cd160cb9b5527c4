"""The Part I notebook runs headless top to bottom and shows what the course says it shows."""

from __future__ import annotations

import nbformat
import pytest

from tests.notebook_runner import NOTEBOOKS, cell_text_outputs, execute_notebook

pytestmark = pytest.mark.notebook

INTERLEAVED = "0 0 1 1 2 2 3 3 4 4 5 5 6 6 7 7 8 8 9 9 "


def test_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOKS / "01_async_first_steps.ipynb", as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code_cells)


def test_notebook_runs_and_teaches_part_one() -> None:
    notebook = execute_notebook("01_async_first_steps.ipynb")
    cells = {cell.id: cell for cell in notebook.cells}
    assert cell_text_outputs(cells["sync-count"]).startswith("0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 \n")
    assert cell_text_outputs(cells["async-count"]).startswith(INTERLEAVED + "\n")
    errors = [output for output in cells["asyncio-run-fails"].outputs if output.output_type == "error"]
    assert [(error.ename, error.evalue) for error in errors] == [
        ("RuntimeError", "asyncio.run() cannot be called from a running event loop")]
    nested = cell_text_outputs(cells["nested-main"]).splitlines()
    assert nested[:-1] == INTERLEAVED.split() and nested[-1].startswith("Both counts took ")
    assert cell_text_outputs(cells["web-async"]) == "True\n"
    assert "web_www.ynov.com" in cell_text_outputs(cells["file-names"])
    for cell_id in ("sync-multiple", "async-multiple"):
        assert cell_text_outputs(cells[cell_id]).endswith("10 saved, 2 failed, 1 bad lines\n")
    assert [output.output_type for output in cells["plot"].outputs] == ["display_data"]
    assert "image/png" in cells["plot"].outputs[0].data
    assert cell_text_outputs(cells["cleanup"]) == "stand-in site running: False\n"
