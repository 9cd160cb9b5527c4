"""The student's own code, in the files of ``mycode/``: shown, checked and run from the notebooks.

Each step is written in its own file (``mycode/sleep_sync.py``, ``mycode/ii_4_server.py``...), the
same file the terminal runs (``python -m mycode.ii_4_server``) and pytest checks
(``pytest tests/student --stage ii_4 --impl mycode/ii_4_server.py``). A notebook cell reads it
afresh each time it runs, so a check always tests what the file holds now, whatever other cells
defined or ran meanwhile:

    show_mine("sleep_sync")          # the file's code, to read what to write
    await check_mine("sleep_sync")   # the step's checks, on that file as it is now
    mine = load_mine("sleep_sync")   # the module itself, to run it from a cell (`with try_mine():`)

``mycode/`` sits in the course's folder (``CHATLIB_MYCODE`` names another one, which is used as it
is). In the course's own repository, the skeletons are created there the first time they are
asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from IPython.display import Code

import chatlib
from chatlib.checks import CheckFailed, CheckReport, ScenarioResult, Status, check
from chatlib.checks.keyboard import KeyboardUnavailable
from chatlib.checks.loading import (
    IMPORT_LIMIT,
    TOP_LEVEL_ADVICE,
    ImportRaised,
    ImportStuck,
    execute_bounded,
    is_skeleton,
)
from chatlib.checks.report import strict_from_environment

MYCODE_ENVIRONMENT_VARIABLE = "CHATLIB_MYCODE"
COMPLETE_ENVIRONMENT_VARIABLE = "CHATLIB_CHECKS_COMPLETE"  # for autograding: every scenario must pass
PACKAGE = "mycode"

STEP_FILES: dict[str, dict[str, tuple[str, ...]]] = {
    "sleep_sync": {"sleep_sync": ("count", "count_twice")},
    "sleep_async": {"sleep_async": ("count", "count_twice")},
    "web_sync": {"web_sync": ("get_content", "write_content")},
    "web_async": {"web_async": ("get_content", "write_content")},
    "web_sync_multiple": {"web_sync_multiple": ("download_all",)},
    "web_async_multiple": {"web_async_multiple": ("download_all",)},
    **{
        stage: {f"{stage}_server": ("server", "handler"), f"{stage}_client": ("client",)}
        for stage in ("ii_2", "ii_3", "ii_4", "ii_5", "ii_6")
    },
    "protocol": {"protocol": ("encode", "decoder", "link", "read_frame")},
}
"""For each step: the files of mycode/ it checks, and which of the check's keywords each file gives."""

ALTERNATIVES = (("server", "handler"), ("link", "read_frame"))
"""Keywords of which a step needs one only: a server or its handler, a link class or a read_frame."""


class MineNotReady(Exception):
    """A file of mycode/ is missing or cannot be imported; the message says which and why, in one line."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the one-line message."""
        return [f"{type(self).__name__}: {self}"]


def course_folder() -> Path:
    """The course's folder: the one holding the `chatlib` package in use."""
    return Path(chatlib.__file__).resolve().parent.parent


def mycode_folder() -> Path:
    """The folder of the student's files: `mycode/` in the course's folder, or $CHATLIB_MYCODE."""
    chosen = os.environ.get(MYCODE_ENVIRONMENT_VARIABLE)
    return Path(chosen).expanduser().resolve() if chosen else course_folder() / PACKAGE


def file_of(name: str) -> Path:
    """The file `mycode/<name>.py`; in the course's repository, created from its skeleton if missing."""
    file = mycode_folder() / f"{name}.py"
    if not file.exists() and MYCODE_ENVIRONMENT_VARIABLE not in os.environ:
        _create_skeletons()
    if not file.exists():
        raise MineNotReady(f"{_shown(file)} is missing: copy it back from the edition you were given")
    return file


def _create_skeletons() -> None:
    """Write the missing skeletons of mycode/, from the course's modules (in the course's repository)."""
    try:
        from chatlib.classroom.skeletons import write_mycode
    except ImportError:  # an edition: its mycode/ came with it
        return
    write_mycode(mycode_folder())


def load_mine(name: str, limit: float = IMPORT_LIMIT) -> ModuleType:
    """Import `mycode/<name>.py` afresh (and the other files of mycode/ it imports), as it is now.

    The file's top-level code runs in a thread of its own, without a keyboard, for at most `limit`
    seconds, so that a file that sleeps, loops, waits for input() or calls sys.exit() when imported
    cannot freeze or end the kernel. Raises MineNotReady, one line, if the file is missing or cannot be
    imported (a syntax error, say, or top-level code that never ends), with the line at fault.
    """
    file = file_of(name)
    _forget_mycode_modules()
    folder = str(mycode_folder().parent)
    if sys.path[:1] != [folder]:
        sys.path.insert(0, folder)
    importlib.invalidate_caches()
    module_name = f"{PACKAGE}.{name}"
    try:
        package = importlib.import_module(PACKAGE)
        spec = importlib.util.spec_from_file_location(module_name, file)
        assert spec is not None and spec.loader is not None, file
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # as an import does: the file's own imports of mycode find it
        execute_bounded(module, limit)
    except (Exception, SystemExit) as error:  # whatever the student's file raises while it is imported
        _forget_mycode_modules()
        raise MineNotReady(f"{_shown(file)} cannot be imported: {_import_problem(error)}") from None
    setattr(package, name, module)
    return module


def _forget_mycode_modules() -> None:
    """Drop every module of mycode/ already imported, so that the next import reads the files again."""
    for module_name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
        del sys.modules[module_name]


def _import_problem(error: BaseException) -> str:
    """What went wrong importing a student's file, with the file and line when Python says."""
    if isinstance(error, ImportStuck):
        stuck = error.where
        where = f" ({Path(stuck.file).name}, line {stuck.line}: {stuck.code})" if stuck else ""
        return f"its top-level code did not finish within {error.limit:g} s{where}; {TOP_LEVEL_ADVICE}"
    if isinstance(error, ImportRaised):
        error = error.error
    if isinstance(error, SyntaxError):
        where = f" ({Path(error.filename or '?').name}, line {error.lineno})" if error.lineno else ""
        return f"{type(error).__name__}: {error.msg}{where}"
    frames = [
        frame for frame in traceback.extract_tb(error.__traceback__) if PACKAGE in Path(frame.filename).parts
    ]
    where = f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})" if frames else ""
    if isinstance(error, KeyboardUnavailable):
        return f"it calls input() at the top level, which waits for a keyboard{where}; {TOP_LEVEL_ADVICE}"
    return f"{type(error).__name__}: {error}{where}"


def _shown(file: Path) -> str:
    """A file as the student knows it: `mycode/ii_4_server.py`."""
    return f"{PACKAGE}/{file.name}" if file.parent == mycode_folder() else str(file)


def show_mine(name: str) -> Code:
    """The code of `mycode/<name>.py` as it is now, highlighted, under a line saying where it is."""
    file = file_of(name)
    print(f"{_shown(file)}: open it from the file browser (the folder mycode/), edit, save, check.")
    return Code(file.read_text(encoding="utf-8"), language="python")


def implementation_of(step: str) -> tuple[dict[str, Any], dict[str, str]]:
    """What the step's files give the check, by keyword, and why each missing keyword is missing."""
    given: dict[str, Any] = {}
    missing: dict[str, str] = {}
    wanted_names = _step_names(step)
    for name, keywords in STEP_FILES[step].items():
        try:
            module = load_mine(name)
        except MineNotReady as problem:
            missing.update({keyword: str(problem) for keyword in keywords})
            continue
        for keyword in keywords:
            found = next(
                (
                    getattr(module, candidate)
                    for candidate in wanted_names[keyword]
                    if callable(getattr(module, candidate, None))
                ),
                None,
            )
            if found is None:
                defines = " or ".join(wanted_names[keyword])
                missing[keyword] = f"{_shown(file_of(name))} defines no {defines}"
            else:
                given[keyword] = found
    server = given.get("server")
    if server is not None and is_skeleton(server) and "handler" in given:
        del given["server"]  # check the handler: its scenarios say "not implemented yet" while it is
    for either in ALTERNATIVES:
        if any(keyword in given for keyword in either):
            for keyword in either:
                missing.pop(keyword, None)
    return given, missing


def _step_names(step: str) -> dict[str, tuple[str, ...]]:
    """The names the checks look for in a file, by keyword (e.g. "handler": ("handle_client",))."""
    from chatlib.checks import STEPS

    return STEPS[step].names


async def check_files(step: str) -> CheckReport:
    """The step's checks on its files of mycode/, read afresh; prints nothing.

    A file missing, not importable, or lacking a name makes the scenarios that need it FAIL with
    that reason, never a traceback.
    """
    given, missing = implementation_of(step)
    return await check_implementation(step, given, missing)


async def check_implementation(step: str, given: dict[str, Any], missing: dict[str, str]) -> CheckReport:
    """The step's checks on what `implementation_of` found; a missing part FAILs with its reason."""
    report = await check(step, strict=False, show=None, **given)
    if missing:
        reasons = tuple(sorted(set(missing.values())))
        report.results = [
            ScenarioResult(result.name, Status.FAIL, reasons, cause="import")
            if result.status is Status.NOT_GIVEN
            else result
            for result in report.results
        ]
    return report


async def check_mine(step: str, *, strict: bool | None = None, show: Any = print) -> CheckReport:
    """Run the step's checks on its files of mycode/, read afresh, and print the report.

    Strict mode (`strict=True`, or CHATLIB_CHECKS_STRICT=1) raises CheckFailed when a scenario
    failed, as `check` does. For an autograder that scores a cell by whether it raises (nbgrader,
    otter), CHATLIB_CHECKS_COMPLETE=1 raises unless every scenario passed, so that a step not
    written yet scores nothing.
    """
    report = await check_files(step)
    if show is not None:
        show(report.text())
    if (strict_from_environment() if strict is None else strict) and not report.passed:
        raise CheckFailed(report)
    if _environment_says(COMPLETE_ENVIRONMENT_VARIABLE) and report.count(Status.PASS) < len(report.results):
        raise CheckFailed(report)
    return report


def _environment_says(variable: str) -> bool:
    """Whether an environment variable is set to 1, true, yes or on."""
    return os.environ.get(variable, "").strip().lower() in ("1", "true", "yes", "on")


@contextmanager
def try_mine() -> Iterator[None]:
    """Run a cell's use of the student's code; what is not ready yet says so in one line.

        with try_mine():
            mine.count_twice(pause=0.1)

    A function still raising NotImplementedError is named; a connection refused (the student's
    client started before their server) says to start the server first.
    """
    try:
        yield
    except NotImplementedError as error:
        frames = traceback.extract_tb(error.__traceback__)
        mine = [frame for frame in frames if PACKAGE in Path(frame.filename).parts]
        where = f"{mine[-1].name} in {PACKAGE}/{Path(mine[-1].filename).name}" if mine else "a function"
        print(
            f"Not written yet: {where} still raises NotImplementedError. Write it, then run this cell again."
        )
    except ConnectionRefusedError:
        print("Cannot connect: no server listens there. Start yours first (the cell above), then try again.")
