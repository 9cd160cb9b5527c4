"""Execute a course notebook headless in a real Jupyter kernel, failing on any cell error."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def execute_notebook(
    name: str | nbformat.NotebookNode, *, cell_timeout: int = 120
) -> nbformat.NotebookNode:
    """Run every cell of `notebooks/<name>` (or of a notebook already read) top to bottom and return
    the executed notebook.

    Cells tagged ``raises-exception`` may raise (they show an expected error);
    any other cell error fails the run with nbclient's CellExecutionError.
    """
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4) if isinstance(name, str) else name
    client = NotebookClient(
        notebook,
        timeout=cell_timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return notebook


def cell_text_outputs(cell: nbformat.NotebookNode) -> str:
    """All the text a cell printed or displayed, joined (for asserting on what a student sees)."""
    parts: list[str] = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "data" in output and "text/plain" in output["data"]:
            parts.append(output["data"]["text/plain"])
    return "".join(parts)
