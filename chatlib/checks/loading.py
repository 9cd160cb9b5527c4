"""Finding a student's implementation: import their file, and tell a skeleton from real code."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any


class ImplementationFileError(Exception):
    """The student's file could not be imported; the message says why in one line."""


def load_module(path: str | Path) -> ModuleType:
    """Import the Python file at `path` as a module of its own (it need not be in a package)."""
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
        spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(module_name, None)
        raise ImplementationFileError(f"importing {file} failed: {type(error).__name__}: {error}") from error
    return module


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
