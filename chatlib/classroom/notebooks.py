"""An edition's notebooks, made from the course's own: our solutions out, nbgrader's marks in.

The course's notebooks mark every cell that shows or runs our solution of a step with the cell
tag ``solution`` and the metadata ``{"course": {"solution": STEP}}``. A student edition leaves
those cells out (the teacher's key keeps them), clears every output, and marks each check cell
as an nbgrader autograded test cell (locked, worth one point per scenario), so that a teacher
who uses nbgrader can take the notebooks in as they are.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from chatlib.checks import STEPS

SOLUTION_TAG = "solution"
CHECK_PREFIX = "check-"
NBGRADER_SCHEMA_VERSION = 3


def is_solution(cell: nbformat.NotebookNode) -> bool:
    """Whether a cell shows or runs the course's solution of a step."""
    return SOLUTION_TAG in cell.metadata.get("tags", []) or "solution" in cell.metadata.get("course", {})


def checked_step(cell: nbformat.NotebookNode) -> str | None:
    """The step a check cell checks (`check-ii-4` checks ii_4), or None for any other cell."""
    cell_id = cell.get("id", "")
    if cell.cell_type != "code" or not cell_id.startswith(CHECK_PREFIX):
        return None
    step = cell_id.removeprefix(CHECK_PREFIX).replace("-", "_")
    return step if step in STEPS else None


def nbgrader_test_cell(cell_id: str, points: int) -> dict[str, object]:
    """nbgrader's metadata for an autograded test cell that students cannot edit."""
    return {
        "grade": True,
        "grade_id": cell_id,
        "locked": True,
        "points": points,
        "schema_version": NBGRADER_SCHEMA_VERSION,
        "solution": False,
        "task": False,
    }


def edition_notebook(source: Path, *, keep_solutions: bool, note: str) -> nbformat.NotebookNode:
    """The notebook at `source` as an edition holds it: `note` under its title, outputs cleared,
    our solution's cells kept only if `keep_solutions`, check cells marked for nbgrader."""
    notebook = nbformat.read(source, as_version=4)
    cells = []
    for cell in notebook.cells:
        if is_solution(cell) and not keep_solutions:
            continue
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
            if (step := checked_step(cell)) is not None:
                cell.metadata["nbgrader"] = nbgrader_test_cell(cell.id, len(STEPS[step].scenarios))
        cells.append(cell)
    note_cell = nbformat.v4.new_markdown_cell(note)
    note_cell.id = "edition-note"
    notebook.cells = [cells[0], note_cell, *cells[1:]]
    return notebook


def write_notebook(notebook: nbformat.NotebookNode, destination: Path) -> None:
    """Write a notebook, checked against nbformat's schema."""
    nbformat.validate(notebook)
    destination.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, destination)
