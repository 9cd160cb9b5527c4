"""Grade what students hand in: every step's checks on each submission, each in a process of its own.

    python3 course.py grade SUBMISSIONS [--out DIR] [--step-timeout S] [--jobs N]

SUBMISSIONS holds one entry per student: a folder (their ``mycode/``, or the whole course folder
holding it), or a notebook whose cells write their files with ``%%writefile mycode/NAME.py``.
Only the ``.py`` files of mycode/ are copied, into a scratch folder, and checked there by
``grade_one`` in a child process that reports step by step. A step that hangs (its files'
import, or its checks beyond their time) is stopped by killing that process; a step that
crashes it (``os._exit``, a segfault) is marked as such; either way the student's other steps
are checked in a new process. Nothing a submission does costs more than its own grade.

Writes into ``--out`` (default ``SUBMISSIONS-grades``): ``grades.csv`` (a row per student, a
column per step: scenarios passed / total), ``summary.md``, and ``feedback/<student>.md`` with
the same reports the notebooks print.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from chatlib.checks import STEPS as CHECK_STEPS
from chatlib.classroom.exercises import EXERCISES, STEPS

IMPORT_TIMEOUT = 20.0  # seconds for a step's files to import (and the child to start)
CHECK_SLACK = 20.0  # seconds beyond the sum of a step's scenario time limits
POLL_SECONDS = 0.05
STDERR_KEPT = 4000  # bytes of a child's error output kept, to say why it crashed
MAX_FILE_BYTES = 1_000_000  # a file of mycode/ larger than this is not copied
STUDENT_FRAME = re.compile(
    r'File "[^"]*mycode[/\\](?P<file>\w+\.py)", line (?P<line>\d+) in (?P<function>\w+)'
)
WRITEFILE = re.compile(r"^%%writefile\s+(?:-a\s+)?(?P<path>\S+)\s*$")


@dataclass
class StepGrade:
    """One step for one student: scenarios passed out of the total, the report, what went wrong."""

    step: str
    passed: int
    total: int
    report: str = ""
    note: str = ""


@dataclass
class StudentGrade:
    """Every step's grade for one student, and notes about the submission itself."""

    student: str
    steps: dict[str, StepGrade] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        """Scenarios passed, over every step."""
        return sum(grade.passed for grade in self.steps.values())

    @property
    def total(self) -> int:
        """Scenarios, over every step."""
        return sum(grade.total for grade in self.steps.values())


def scenario_count(step: str) -> int:
    """How many scenarios a step has: its total."""
    return len(CHECK_STEPS[step].scenarios)


def check_timeout(step: str, step_timeout: float | None) -> float:
    """Seconds a step's checks may run for one student: each scenario's own limit, summed, plus slack."""
    if step_timeout is not None:
        return step_timeout
    return sum(scenario.timeout for scenario in CHECK_STEPS[step].scenarios) + CHECK_SLACK


# --- Finding each student's code ------------------------------------------------------------


def find_submissions(folder: Path, out: Path) -> list[Path]:
    """One entry per student: the folders and notebooks of `folder` (hidden ones and `out` aside)."""
    entries = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.resolve() == out.resolve():
            continue
        if entry.is_dir() or entry.suffix == ".ipynb":
            entries.append(entry)
    return entries


def student_name(submission: Path) -> str:
    """The student's name: the folder's or notebook's name."""
    return submission.stem if submission.is_file() else submission.name


def mycode_in(folder: Path) -> Path | None:
    """The folder of the student's files: `mycode/` in the submission (or below it), or the
    submission itself if it holds the files directly."""
    names = {f"{exercise.name}.py" for exercise in EXERCISES}
    if any((folder / name).is_file() for name in names):
        return folder
    found = sorted(
        (
            path
            for path in folder.rglob("mycode")
            if path.is_dir() and len(path.relative_to(folder).parts) <= 4
        ),
        key=lambda path: len(path.parts),
    )
    return found[0] if found else None


def files_from_notebook(notebook_file: Path) -> dict[str, str]:
    """The files a notebook's cells write with `%%writefile .../mycode/NAME.py`, by NAME."""
    names = {exercise.name for exercise in EXERCISES}
    files: dict[str, str] = {}
    notebook = nbformat.read(notebook_file, as_version=4)
    for cell in notebook.cells:
        first, _, body = cell.source.partition("\n")
        match = WRITEFILE.match(first.strip()) if cell.cell_type == "code" else None
        if match and Path(match["path"]).stem in names and match["path"].endswith(".py"):
            files[Path(match["path"]).stem] = body if body.endswith("\n") else body + "\n"
    return files


def gather_code(submission: Path, mycode: Path) -> list[str]:
    """Copy the student's files of mycode/ into `mycode`, a scratch folder; notes if nothing was found."""
    mycode.mkdir(parents=True)
    (mycode / "__init__.py").write_text("")
    if submission.is_file():
        files = files_from_notebook(submission)
    else:
        source = mycode_in(submission)
        notebooks = sorted(submission.rglob("*.ipynb")) if source is None else []
        files = {}
        for notebook in notebooks:
            files.update(files_from_notebook(notebook))
        if source is not None:
            for file in sorted(source.glob("*.py")):
                if file.name != "__init__.py" and file.is_file() and file.stat().st_size <= MAX_FILE_BYTES:
                    files[file.stem] = file.read_text(encoding="utf-8", errors="replace")
    for name, text in files.items():
        (mycode / f"{name}.py").write_text(text, encoding="utf-8")
    if not files:
        return ["no code found: neither a mycode/ folder nor notebook cells starting with %%writefile"]
    return []


# --- Running the checks, one child process at a time -------------------------------------------


class Child:
    """A `grade_one` process checking some steps of one student, watched from here."""

    def __init__(self, work: Path, results: Path, steps: list[str]) -> None:
        environment = dict(os.environ)
        environment["CHATLIB_MYCODE"] = str(work / "mycode")
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        environment["PYTHONFAULTHANDLER"] = "1"  # a crash prints where it happened
        environment.pop("CHATLIB_CHECKS_STRICT", None)
        self.results = results
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chatlib.classroom.grade_one", str(results), *steps],
            cwd=work,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # what the student's code prints: any amount, read by nobody
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: killing it kills what it started
        )
        self._stderr: deque[bytes] = deque()
        self._stderr_bytes = 0
        self._reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._reader.start()

    def _drain_stderr(self) -> None:
        """Read the child's error output as it comes, keeping only its end."""
        assert self.process.stderr is not None
        for chunk in iter(lambda: self.process.stderr.read(1024), b""):  # type: ignore[union-attr]
            self._stderr.append(chunk)
            self._stderr_bytes += len(chunk)
            while self._stderr_bytes - len(self._stderr[0]) >= STDERR_KEPT:
                self._stderr_bytes -= len(self._stderr.popleft())

    def events(self) -> list[dict[str, Any]]:
        """Every complete event the child has written so far."""
        if not self.results.exists():
            return []
        lines = self.results.read_text(encoding="utf-8").splitlines(keepends=True)
        return [json.loads(line) for line in lines if line.endswith("\n")]

    def kill(self) -> None:
        """Kill the child and anything it started."""
        if os.name == "posix":
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            self.process.kill()
        self.process.wait()

    def crash_spot(self) -> str:
        """Where in the student's code the child crashed, or the last line of its error output."""
        self._reader.join(timeout=2)
        text = b"".join(self._stderr).decode(errors="replace").strip()
        for line in text.splitlines():  # a fault's traceback lists the innermost frame first
            if spot := STUDENT_FRAME.search(line):
                return f"at mycode/{spot['file']}, line {spot['line']}, in {spot['function']}"
        return text.splitlines()[-1] if text else ""


def exit_description(returncode: int) -> str:
    """How a process ended, in words: `exit status 3`, or `killed by signal SIGSEGV`."""
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def current_step(events: list[dict[str, Any]], steps: list[str]) -> tuple[str | None, bool]:
    """The step the child is on (None once every step is reported), and whether its files are
    imported (its checks running)."""
    if events and events[-1]["event"] in ("start", "imported"):
        return events[-1]["step"], events[-1]["event"] == "imported"
    reported = {event["step"] for event in events if event["event"] == "result"}
    return next((step for step in steps if step not in reported), None), False


def run_steps(
    work: Path, steps: list[str], step_timeout: float | None, import_timeout: float = IMPORT_TIMEOUT
) -> dict[str, StepGrade]:
    """Check `steps` on the code in `work/mycode`, going on past a step that hangs or crashes."""
    grades: dict[str, StepGrade] = {}
    remaining = list(steps)
    while remaining:
        child = Child(work, work / f"results-{len(grades)}.jsonl", remaining)
        stopped: StepGrade | None = None
        seen, phase_started = 0, time.monotonic()
        while child.process.poll() is None:
            events = child.events()
            if len(events) != seen:  # progress: a new phase starts now
                seen, phase_started = len(events), time.monotonic()
            step, checking = current_step(events, remaining)
            limit = check_timeout(step, step_timeout) if step and checking else import_timeout
            if time.monotonic() - phase_started > limit:
                child.kill()
                if step is None:  # every step reported, but something keeps the process alive
                    break
                what = "its checks" if checking else "importing its files"
                stopped = StepGrade(
                    step, 0, scenario_count(step), note=f"stopped: {what} took more than {limit:g} s"
                )
                break
            time.sleep(POLL_SECONDS)
        child.kill()  # it has ended, but it may have left processes of its own behind
        for event in child.events():
            if event["event"] == "result":
                grades[event["step"]] = StepGrade(
                    event["step"], event["passed"], event["total"], event["report"]
                )
        unfinished = [step for step in remaining if step not in grades]
        if stopped is None and unfinished:
            reason = child.crash_spot()
            ended = (
                f"the checks' process ended during this step ({exit_description(child.process.returncode)})"
            )
            stopped = StepGrade(
                unfinished[0],
                0,
                scenario_count(unfinished[0]),
                note=ended + (f": {reason}" if reason else ""),
            )
        if stopped is not None:
            grades[stopped.step] = stopped
        remaining = [step for step in remaining if step not in grades]
    return grades


def grade_submission(
    submission: Path, step_timeout: float | None = None, import_timeout: float = IMPORT_TIMEOUT
) -> StudentGrade:
    """Every step's checks on one submission, in a scratch folder of its own."""
    grade = StudentGrade(student_name(submission))
    with tempfile.TemporaryDirectory(prefix="chatlib-grade-") as scratch:
        work = Path(scratch)
        grade.notes = gather_code(submission, work / "mycode")
        if grade.notes:  # nothing to run: every step is missing
            grade.steps = {step: StepGrade(step, 0, scenario_count(step), note="no code") for step in STEPS}
        else:
            grade.steps = run_steps(work, list(STEPS), step_timeout, import_timeout)
    return grade


# --- What the teacher reads ---------------------------------------------------------------------


def write_csv(grades: list[StudentGrade], file: Path) -> None:
    """A row per student, a column per step (`passed/total`), then the total."""
    with file.open("w", newline="", encoding="utf-8") as output:
        writer = csv.writer(output)
        writer.writerow(["student", *STEPS, "total"])
        for grade in grades:
            cells = [f"{grade.steps[step].passed}/{grade.steps[step].total}" for step in STEPS]
            writer.writerow([grade.student, *cells, f"{grade.passed}/{grade.total}"])


def summary_text(grades: list[StudentGrade], seconds: float) -> str:
    """The grades as a Markdown table, with every note below it."""
    lines = [
        "# Grades",
        "",
        f"{len(grades)} submissions checked in {seconds:.0f} s. Each cell: scenarios passed / total "
        "(the feedback files say which and why).",
        "",
        "| student | " + " | ".join(STEPS) + " | total |",
        "|---" * (len(STEPS) + 2) + "|",
    ]
    for grade in grades:
        cells = [f"{grade.steps[step].passed}/{grade.steps[step].total}" for step in STEPS]
        lines.append(f"| {grade.student} | " + " | ".join(cells) + f" | **{grade.passed}/{grade.total}** |")
    notes = [f"- {grade.student}: {note}" for grade in grades for note in grade.notes] + [
        f"- {grade.student}, {step}: {grade.steps[step].note}"
        for grade in grades
        for step in STEPS
        if grade.steps[step].note and grade.steps[step].note != "no code"
    ]
    if notes:
        lines += ["", "## Notes", "", *notes]
    return "\n".join(lines) + "\n"


def feedback_text(grade: StudentGrade) -> str:
    """One student's feedback: the total, then each step's report as the notebook prints it."""
    lines = [f"# Feedback for {grade.student}", "", f"{grade.passed} of {grade.total} scenarios passed.", ""]
    lines += [f"- {note}" for note in grade.notes]
    for step in STEPS:
        step_grade = grade.steps[step]
        lines += ["", f"## {step}: {step_grade.passed}/{step_grade.total}", ""]
        if step_grade.note:
            lines.append(f"**{step_grade.note}**")
            lines.append("")
        if step_grade.report:
            lines += ["```", step_grade.report, "```"]
    return "\n".join(lines) + "\n"


def feedback_file_name(student: str) -> str:
    """A file name for a student's feedback, safe on every system."""
    return (re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._") or "student") + ".md"


def write_outputs(grades: list[StudentGrade], out: Path, seconds: float) -> None:
    """grades.csv, summary.md and feedback/<student>.md in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    write_csv(grades, out / "grades.csv")
    (out / "summary.md").write_text(summary_text(grades, seconds), encoding="utf-8")
    feedback = out / "feedback"
    shutil.rmtree(feedback, ignore_errors=True)
    feedback.mkdir()
    for grade in grades:
        (feedback / feedback_file_name(grade.student)).write_text(feedback_text(grade), encoding="utf-8")


def grade_all(
    submissions: Iterable[Path],
    step_timeout: float | None = None,
    jobs: int = 1,
    import_timeout: float = IMPORT_TIMEOUT,
) -> list[StudentGrade]:
    """Grade every submission, `jobs` at a time, printing one line per student as each finishes."""

    def grade_and_say(submission: Path) -> StudentGrade:
        grade = grade_submission(submission, step_timeout, import_timeout)
        print(f"{grade.student}: {grade.passed}/{grade.total}", flush=True)
        return grade

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(grade_and_say, submissions))


def grade_command(
    submissions: Path,
    out: Path | None = None,
    step_timeout: float | None = None,
    jobs: int | None = None,
    import_timeout: float | None = None,
) -> int:
    """`course.py grade`: check every submission, write the grades, say where they are."""
    if not submissions.is_dir():
        print(f"grade: {submissions} is not a folder of submissions", file=sys.stderr)
        return 2
    out = out or submissions.with_name(submissions.name + "-grades")
    entries = find_submissions(submissions, out)
    if not entries:
        print(f"grade: {submissions} holds no folder or notebook to grade", file=sys.stderr)
        return 2
    started = time.monotonic()
    jobs = jobs or max(1, (os.cpu_count() or 2) // 2)
    grades = grade_all(entries, step_timeout, jobs, import_timeout or IMPORT_TIMEOUT)
    write_outputs(grades, out, time.monotonic() - started)
    print(f"Grades: {out / 'grades.csv'}, summary: {out / 'summary.md'}, feedback: {out / 'feedback'}/")
    return 0
