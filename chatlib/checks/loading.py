"""Finding a student's implementation: import their file, tell a skeleton from real code, read its names."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from chatlib.checks.keyboard import KeyboardUnavailable, no_keyboard
from chatlib.checks.locations import Spot, thread_spot, traceback_spot
from chatlib.checks.stopping import stop_threads_soon

IMPORT_LIMIT = 10.0
"""Seconds a student's file may take to import: top-level code that serves forever never ends."""


class ImplementationFileError(Exception):
    """The student's file could not be imported; the message says why in one line."""


class ImportStuck(Exception):
    """A file's top-level code did not finish within its limit; `where` is the line it was running."""

    def __init__(self, limit: float, where: Spot | None) -> None:
        super().__init__(f"did not finish within {limit:g} s" + (f", at {where}" if where else ""))
        self.limit = limit
        self.where = where


class ImportRaised(Exception):
    """A file's top-level code raised `error` (sys.exit() and input() included) while it was imported."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error


TOP_LEVEL_ADVICE = (
    "code at the top level of a file runs when it is imported; "
    'put what starts the program under `if __name__ == "__main__":`'
)


def execute_bounded(module: ModuleType, limit: float = IMPORT_LIMIT) -> None:
    """Run a module's top-level code (its import) in a thread of its own, without a keyboard, for at
    most `limit` seconds; the module must be in sys.modules already, as an import puts it.

    Whatever the code does (input(), sys.exit(), sleeping or serving forever), the caller gets control
    back within `limit` s: ImportStuck if it did not finish (the thread is stopped as soon as it can
    be), ImportRaised if it raised. No import lock is held for the module, so a thread left stuck does
    not stop the next import of the same file.
    """
    spec = module.__spec__
    if spec is None or spec.loader is None:
        raise ValueError(f"{module.__name__} has no loader")
    failure: list[BaseException] = []

    def execute() -> None:
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except BaseException as error:  # noqa: BLE001 (sys.exit() at top level included)
            failure.append(error)

    name = Path(module.__file__ or module.__name__).stem
    importing = threading.Thread(target=execute, name=f"chatlib-check-import-{name}", daemon=True)
    with no_keyboard():
        importing.start()
        importing.join(limit)
        still_running_at = thread_spot(importing.ident) if importing.is_alive() and importing.ident else None
    if importing.is_alive():
        stop_threads_soon([importing])
        raise ImportStuck(limit, still_running_at)
    if failure:
        raise ImportRaised(failure[0]) from failure[0]


def load_module(path: str | Path, limit: float = IMPORT_LIMIT) -> ModuleType:
    """Import the Python file at `path` as a module of its own (it need not be in a package).

    The import runs in a thread of its own, without a keyboard, for at most `limit` seconds
    (`execute_bounded`): whatever the file's top-level code does, the caller gets the module or an
    ImplementationFileError saying why not.
    """
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise ImplementationFileError(f"no such file: {file}")
    module_name = f"student_{file.stem}_{abs(hash(str(file)))}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ImplementationFileError(f"not a Python file: {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up by name
    try:
        execute_bounded(module, limit)
    except ImportStuck as stuck:
        sys.modules.pop(module_name, None)
        raise ImplementationFileError(f"importing {file} {stuck}: {TOP_LEVEL_ADVICE}") from None
    except ImportRaised as raised:
        sys.modules.pop(module_name, None)
        raise ImplementationFileError(import_failure(file, raised.error)) from raised.error
    return module


def import_failure(file: Path, error: BaseException) -> str:
    """One line saying why importing `file` failed, and where."""
    if isinstance(error, KeyboardUnavailable):
        what = "it calls input() at the top level, which waits for a keyboard a check does not have"
    elif isinstance(error, SystemExit):
        what = "it calls sys.exit() at the top level"
    else:
        what = f"{type(error).__name__}: {error}"
    where = traceback_spot(error)
    return f"importing {file} failed: {what}" + (f" (at {where})" if where else "")


def find_names(module: ModuleType, wanted: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """For each keyword of `wanted`, the first of its candidate names that the module defines."""
    found: dict[str, Any] = {}
    for keyword, names in wanted.items():
        for name in names:
            if callable(getattr(module, name, None)):
                found[keyword] = getattr(module, name)
                break
    return found


def is_skeleton(implementation: Any) -> bool:
    """True for a function whose body is only a docstring, `pass`, `...` or `raise NotImplementedError`."""
    function = inspect.unwrap(implementation) if callable(implementation) else implementation
    if not inspect.isfunction(function):
        return False
    try:
        source = textwrap.dedent(inspect.getsource(function))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return False
    definition = next(
        (node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))), None
    )
    return definition is not None and all(_is_placeholder(statement) for statement in definition.body)


def _is_placeholder(statement: ast.stmt) -> bool:
    """A statement that does nothing yet: a docstring, `pass`, `...`, or raising NotImplementedError."""
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return statement.value.value is Ellipsis or isinstance(statement.value.value, str)
    if isinstance(statement, ast.Raise) and statement.exc is not None:
        raised = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
        return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"
    return False


def global_names(code: CodeType) -> set[str]:
    """Every global name a function's code (nested functions included) refers to."""
    return set(_all_names(code))


def _all_names(code: CodeType) -> Iterator[str]:
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from _all_names(constant)
