"""`course.py grade` on a class's submissions: the unchanged edition scores 0, the key full marks,
and a half-done, a hanging, a crashing, a syntax error, a notebook and an empty submission each
get exactly what they deserve, within a bounded time, with feedback saying why."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from chatlib.checks import STEPS as CHECK_STEPS
from chatlib.classroom.exercises import STEPS

IMPORT_TIMEOUT = 3  # seconds: the hanging submission's import is stopped after this


def full(step: str) -> str:
    """Every scenario of `step` passed."""
    total = len(CHECK_STEPS[step].scenarios)
    return f"{total}/{total}"


def none(step: str) -> str:
    """No scenario of `step` passed."""
    return f"0/{len(CHECK_STEPS[step].scenarios)}"


def edit(file: Path, old: str, new: str) -> None:
    """Replace the first `old` in a file of a submission (which must hold it)."""
    text = file.read_text()
    assert old in text
    file.write_text(text.replace(old, new, 1))


def make_submissions(folder: Path, student_edition: Path, teacher_key: Path) -> None:
    """The class's hand-ins, as a teacher collects them: one folder or notebook per student."""
    shutil.copytree(student_edition, folder / "unchanged")  # handed in as given
    shutil.copytree(teacher_key / "mycode", folder / "key")  # the mycode/ folder alone

    half = folder / "half" / "mycode"
    shutil.copytree(student_edition / "mycode", half)
    for name in ("sleep_sync", "sleep_async", "web_sync", "ii_2_server", "ii_4_server"):
        shutil.copy(teacher_key / "mycode" / f"{name}.py", half / f"{name}.py")
    edit(
        half / "sleep_async.py",
        "\nasync def count(",
        '\nfor _ in range(200_000):\n    print("flood")\n\n\nasync def count(',
    )
    edit(half / "web_async.py", "\nasync def get_content(", "\nsys.exit(1)\n\n\nasync def get_content(")

    hangs = folder / "hangs" / "mycode"
    shutil.copytree(teacher_key / "mycode", hangs)
    edit(hangs / "sleep_sync.py", "\nPAUSE_SECONDS = 0.5\n", "\nPAUSE_SECONDS = 0.5\nwhile True:\n    pass\n")

    crashes = folder / "crashes" / "mycode"
    shutil.copytree(teacher_key / "mycode", crashes)
    edit(
        crashes / "ii_4_server.py",
        '    address: Address = writer.get_extra_info("peername")[:2]\n',
        "    import ctypes\n\n    ctypes.string_at(0)  # a segfault\n",
    )
    edit(
        crashes / "web_sync.py",
        "    try:\n        response = requests.get(",
        "    os._exit(3)\n    try:\n        response = requests.get(",
    )
    edit(crashes / "web_sync.py", "import argparse\n", "import argparse\nimport os\n")

    syntax = folder / "syntax" / "mycode"
    shutil.copytree(teacher_key / "mycode", syntax)
    with (syntax / "ii_5_client.py").open("a") as file:
        file.write("\ndef unfinished(:\n")

    notebook = nbformat.v4.new_notebook()
    solution = (teacher_key / "mycode/sleep_sync.py").read_text()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("My work"),
        nbformat.v4.new_code_cell(f"%%writefile ../mycode/sleep_sync.py\n{solution}"),
    ]
    nbformat.write(notebook, folder / "notebook.ipynb")

    (folder / "empty").mkdir()


def test_grade_gives_each_submission_its_due_in_bounded_time(
    tmp_path: Path, student_edition: Path, teacher_key: Path
) -> None:
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    make_submissions(submissions, student_edition, teacher_key)
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatlib.classroom",
            "grade",
            str(submissions),
            "--out",
            str(out),
            "--jobs",
            "2",
            "--import-timeout",
            str(IMPORT_TIMEOUT),
        ],
        capture_output=True,
        text=True,
        timeout=400,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 300

    with (out / "grades.csv").open() as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    expected = {
        "unchanged": {step: none(step) for step in STEPS},
        "key": {step: full(step) for step in STEPS},
        "half": {
            **{step: none(step) for step in STEPS},
            "sleep_sync": full("sleep_sync"),
            "sleep_async": full("sleep_async"),
            "web_sync": full("web_sync"),
            "ii_2": "3/4",
            "ii_4": "5/8",
        },
        "hangs": {
            **{step: full(step) for step in STEPS},
            "sleep_sync": none("sleep_sync"),
            "sleep_async": none("sleep_async"),
        },
        "crashes": {
            **{step: full(step) for step in STEPS},
            "web_sync": none("web_sync"),
            "web_sync_multiple": none("web_sync_multiple"),
            "ii_4": none("ii_4"),
        },
        "syntax": {**{step: full(step) for step in STEPS}, "ii_5": "9/12"},
        "notebook": {**{step: none(step) for step in STEPS}, "sleep_sync": full("sleep_sync")},
        "empty": {step: none(step) for step in STEPS},
    }
    assert {student: {step: row[step] for step in STEPS} for student, row in rows.items()} == expected
    key_total = sum(len(CHECK_STEPS[step].scenarios) for step in STEPS)
    assert (
        rows["key"]["total"] == f"{key_total}/{key_total}" and rows["unchanged"]["total"] == f"0/{key_total}"
    )

    summary = (out / "summary.md").read_text()
    assert f"| key | {' | '.join(full(step) for step in STEPS)} | **{key_total}/{key_total}** |" in summary
    assert "- hangs, sleep_sync: stopped: importing its files took more than 3 s" in summary
    assert (
        "- crashes, ii_4: the checks' process ended during this step (killed by signal SIGSEGV): "
        "at mycode/ii_4_server.py, line" in summary
    )
    assert "- crashes, web_sync: the checks' process ended during this step (exit status 3)" in summary
    assert "- empty: no code found" in summary

    half = (out / "feedback" / "half.md").read_text()
    assert "## web_async: 0/3" in half
    assert "mycode/web_async.py cannot be imported: SystemExit: 1 (web_async.py, line" in half
    assert "  FAIL                client sends Hello and shows the server's answer" not in half  # not written
    syntax = (out / "feedback" / "syntax.md").read_text()
    assert (
        "mycode/ii_5_client.py cannot be imported: SyntaxError: invalid syntax (ii_5_client.py, line"
        in syntax
    )
    assert sorted(path.name for path in (out / "feedback").iterdir()) == sorted(
        f"{name}.md" for name in expected
    )
