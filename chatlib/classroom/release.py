"""Build an edition of the course into a folder: the student's, or the teacher's key.

    python3 course.py release DIR                    # the student edition
    python3 course.py release DIR --reveal ii_2,ii_3 # ... with those steps' solutions (after a deadline)
    python3 course.py release DIR --solutions        # the teacher's key: every solution

An edition is the course as a student uses it (``course.py lab``, the notebooks, ``chatlib``'s
infrastructure, the checks and ``tests/student``) plus ``mycode/``, one file per step to write.
A student edition holds none of our solutions: not the notebooks' "Our version" cells, not the
modules they come from (``chatlib/first_steps``'s steps, ``chatlib/stages/ii_*``), not the
finished app, whose protocol is a step (``chatlib/app``, notebooks 03 and 04). Those come with
``--reveal protocol`` or ``--solutions``; without them, ``chatlib/app`` holds only the protocol's
frames, which the checks and the student's ``mycode/protocol.py`` share, and the protocol checks
hold no encoder either: the bytes they expect are test vectors, written here at release time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from chatlib.checks.protocol import laid_out_frames
from chatlib.checks.vectors import VECTORS_FILE, write_vectors
from chatlib.classroom.exercises import EXERCISES, STEPS
from chatlib.classroom.notebooks import edition_notebook, write_notebook
from chatlib.classroom.skeletons import write_mycode
from chatlib.notebook.mycode import course_folder

PART_NOTEBOOKS = ("01_async_first_steps.ipynb", "02_chat_room.ipynb")
APP_NOTEBOOKS = ("03_finished_chat.ipynb", "04_how_fast.ipynb", "05_beyond_one_process.ipynb")
SPEC_DOCS = ("PROTOCOL.md",)  # what the protocol step is written from
TOP_FILES = ("course.py", "requirements.txt")
STUDENT_TESTS = (
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/student/__init__.py",
    "tests/student/conftest.py",
    "tests/student/test_student.py",
)
NEVER_COPIED = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
FRAMES_MODULE = "chatlib/app/protocol/frames.py"
LAYOUT_MODULE = "chatlib/checks/layout.py"  # the checks' own encoder: with the protocol's solution only
TEMPLATES = Path(__file__).parent / "templates"


class ReleaseError(Exception):
    """The edition cannot be built as asked; the message says why in one line."""


@dataclass(frozen=True)
class Edition:
    """Which edition: the student's (with some steps' solutions revealed), or the teacher's key."""

    solutions: bool = False
    reveal: frozenset[str] = field(default_factory=frozenset)

    @property
    def solved_steps(self) -> frozenset[str]:
        """The steps whose solution mycode/ holds."""
        return frozenset(STEPS) if self.solutions else self.reveal

    @property
    def with_app(self) -> bool:
        """Whether the finished app comes too: it needs the protocol's solution."""
        return "protocol" in self.solved_steps

    @property
    def name(self) -> str:
        """How the edition calls itself."""
        if self.solutions:
            return "teacher's key"
        return "student edition" + (
            f" (solutions shown: {', '.join(self.ordered(self.reveal))})" if self.reveal else ""
        )

    @staticmethod
    def ordered(steps: Iterable[str]) -> list[str]:
        """Steps in the course's order."""
        return [step for step in STEPS if step in set(steps)]


def parse_reveal(text: str | None) -> frozenset[str]:
    """The steps of `--reveal a,b`; ReleaseError naming the steps if one is unknown."""
    steps = frozenset(part.strip() for part in (text or "").split(",") if part.strip())
    unknown = sorted(steps - set(STEPS))
    if unknown:
        raise ReleaseError(f"no step {', '.join(unknown)}; the steps are: {', '.join(STEPS)}")
    return steps


def excluded(relative: str, edition: Edition) -> bool:
    """Whether a file of chatlib/ stays out of the edition: the classroom tools, our solutions."""
    parts = relative.split("/")
    if parts[1] == "classroom" or NEVER_COPIED & set(parts):
        return True
    if edition.solutions:
        return False
    solution_modules = {
        f"{exercise.reference.replace('.', '/')}.py" for exercise in EXERCISES if not exercise.api
    }
    if relative in solution_modules or re.fullmatch(r"chatlib/stages/ii_\d+/.*", relative):
        return True
    if not edition.with_app:
        app_only = (
            "chatlib/app/",
            "chatlib/bench/",
            "chatlib/notebook/app_demo.py",
            "chatlib/notebook/bench_demo.py",
            "chatlib/notebook/cluster_demo.py",
        )
        return relative == LAYOUT_MODULE or (relative.startswith(app_only) and relative != FRAMES_MODULE)
    return False


def copy_chatlib(destination: Path, edition: Edition) -> None:
    """chatlib/ without what the edition leaves out; without the app, its frames alone, and the
    protocol checks' test vectors instead of their layout of the frames."""
    source = course_folder() / "chatlib"
    for file in sorted(source.rglob("*")):
        relative = file.relative_to(course_folder()).as_posix()
        if file.is_file() and not excluded(relative, edition) and file.suffix != ".pyc":
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
    if not edition.with_app:
        write_vectors(laid_out_frames(), destination / "chatlib/checks" / VECTORS_FILE.name)
    replaced = [] if edition.solutions else ["chatlib/first_steps", "chatlib/stages"]
    if not edition.with_app:
        replaced += ["chatlib/app", "chatlib/app/protocol"]
    for package in replaced:  # a docstring that names only what this edition holds
        template = TEMPLATES / f"{package.replace('/', '_')}__init__.py"
        shutil.copy2(template, destination / package / "__init__.py")


def copy_notebooks(destination: Path, edition: Edition) -> None:
    """Notebooks 01 and 02 without our solutions (unless the key), 03 to 05 only with the app."""
    note = (TEMPLATES / ("note_key.md" if edition.solutions else "note_student.md")).read_text(
        encoding="utf-8"
    )
    if edition.reveal and not edition.solutions:
        shown = ", ".join(f"`{step}`" for step in edition.ordered(edition.reveal))
        note += (
            f"\n**Solutions shown:** `mycode/` holds the course's solution of {shown}, between "
            "`### BEGIN SOLUTION` and `### END SOLUTION`."
        )
    notebooks = course_folder() / "notebooks"
    for name in PART_NOTEBOOKS:
        notebook = edition_notebook(notebooks / name, keep_solutions=edition.solutions, note=note.strip())
        write_notebook(notebook, destination / "notebooks" / name)
    if edition.with_app:
        app_note = "**The finished app** uses the course's own protocol, which this edition shows."
        for name in APP_NOTEBOOKS:
            notebook = edition_notebook(notebooks / name, keep_solutions=True, note=app_note)
            write_notebook(notebook, destination / "notebooks" / name)


def copy_project_files(destination: Path, edition: Edition) -> None:
    """course.py, the pinned requirements, pyproject.toml, the examples and the docs the edition needs."""
    repository = course_folder()
    for name in TOP_FILES:
        shutil.copy2(repository / name, destination / name)
    shutil.copytree(repository / "examples", destination / "examples")
    pyproject = (repository / "pyproject.toml").read_text(encoding="utf-8")
    if not edition.with_app:  # no chat-server or chat-client without the app
        pyproject = re.sub(r"\[project\.scripts\]\n(?:.+\n)*\n", "", pyproject)
    (destination / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    docs = sorted(path.name for path in (repository / "docs").glob("*.md"))
    for name in docs if edition.with_app else SPEC_DOCS:
        (destination / "docs").mkdir(exist_ok=True)
        shutil.copy2(repository / "docs" / name, destination / "docs" / name)
    for relative in STUDENT_TESTS:
        (destination / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repository / relative, destination / relative)
    shutil.copy2(TEMPLATES / "tests_student_references.py", destination / "tests/student/references.py")
    shutil.copy2(TEMPLATES / "gitignore", destination / ".gitignore")


def write_readme(destination: Path, edition: Edition) -> None:
    """The edition's README: what it is, how to start, how to check and hand in."""
    text = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    if edition.with_app:
        app = "The finished app (notebooks 03 and 04, `chat-server`, `chat-client`) is included."
    else:
        app = (
            "The finished app (Part III's notebooks 03 and 04, `chat-server`, `chat-client`) is not "
            "in this edition: it runs on the course's own protocol, which is a step you write. Your "
            "teacher can hand it out later (an edition built with `--reveal protocol`)."
        )
    text = text.replace("{edition}", edition.name).replace("{app}", app)
    (destination / "README.md").write_text(text, encoding="utf-8")


def release(destination: Path, edition: Edition) -> Path:
    """Build `edition` into `destination`, which must not exist yet (or be empty); return it."""
    destination = destination.expanduser().resolve()
    if destination.exists() and any(destination.iterdir()):
        raise ReleaseError(f"{destination} is not empty: choose a new folder")
    if course_folder() in (destination, *destination.parents):
        raise ReleaseError(f"{destination} is inside the course's own folder: choose a folder elsewhere")
    destination.mkdir(parents=True, exist_ok=True)
    copy_project_files(destination, edition)
    copy_chatlib(destination, edition)
    copy_notebooks(destination, edition)
    write_mycode(destination / "mycode", solutions=edition.solved_steps)
    write_readme(destination, edition)
    check_imports(destination)
    return destination


def check_imports(destination: Path) -> None:
    """Make sure the edition's checks and notebook helpers import from the edition alone."""
    probe = "import chatlib.checks, chatlib.notebook.mycode, chatlib.notebook.background"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import chatlib; assert chatlib.__file__.startswith({str(destination)!r}); {probe}",
        ],
        cwd=destination,
        env=edition_environment(destination),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        last = result.stderr.strip().splitlines()[-1:] or ["no message"]
        raise ReleaseError(f"the edition in {destination} does not import: {last[0]}")


def edition_environment(destination: Path) -> dict[str, str]:
    """The environment that makes Python import the edition's chatlib and mycode, not the course's."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = str(destination)
    environment.pop("CHATLIB_MYCODE", None)
    return environment
