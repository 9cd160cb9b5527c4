"""The editions' notebooks run headless top to bottom, each on its own chatlib and mycode/: in the
student edition every check is "not implemented yet", in the teacher's key every check passes."""

from __future__ import annotations

import socket
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from chatlib.checks import STEPS
from tests.notebook_runner import cell_text_outputs

pytestmark = pytest.mark.notebook

NOTEBOOKS = ("01_async_first_steps.ipynb", "02_chat_room.ipynb")


def free_port() -> int:
    """A TCP port nobody listens on right now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_edition_notebook(edition: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Execute an edition's notebook in a kernel importing the edition's code; each check cell's report."""
    monkeypatch.setenv("PYTHONPATH", str(edition))
    monkeypatch.delenv("CHATLIB_MYCODE", raising=False)
    monkeypatch.setenv("CHAT_PORT", str(free_port()))
    notebook = nbformat.read(edition / "notebooks" / name, as_version=4)
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(edition / "notebooks")}},
    ).execute()
    reports = {cell.id: cell_text_outputs(cell) for cell in notebook.cells if cell.id.startswith("check-")}
    assert reports
    return reports


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_student_edition_runs_with_every_check_not_implemented_yet(
    student_edition: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for cell_id, report in run_edition_notebook(student_edition, name, monkeypatch).items():
        step = cell_id.removeprefix("check-").replace("-", "_")
        total = len(STEPS[step].scenarios)
        assert report.startswith(
            f"Checks for {step} ({STEPS[step].title}): 0 passed, 0 failed, {total} not " "implemented yet"
        ), report


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_teacher_key_runs_with_every_check_passing(
    teacher_key: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for cell_id, report in run_edition_notebook(teacher_key, name, monkeypatch).items():
        step = cell_id.removeprefix("check-").replace("-", "_")
        total = len(STEPS[step].scenarios)
        assert report.startswith(
            f"Checks for {step} ({STEPS[step].title}): {total} passed, 0 failed\n"
        ), report
