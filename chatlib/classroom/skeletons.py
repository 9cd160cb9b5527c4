"""A file of mycode/, generated from the course's module: the student's skeleton, or our solution.

Both come from the same text. In the solution, the body of each function the student writes
sits between nbgrader's markers::

    def count(pause: float = PAUSE_SECONDS, show: Callable[[str], None] = print) -> None:
        \"\"\"Show 0 to 9, sleeping `pause` seconds after each number (blocking the whole program).\"\"\"
        ### BEGIN SOLUTION
        for number in range(10):
            ...
        ### END SOLUTION

and the skeleton is that text with each marked region replaced by ``raise NotImplementedError``,
as nbgrader's ``generate_assignment`` would: the signature and the docstring stay, the code goes.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

from chatlib.classroom.exercises import EXERCISES, GIVEN_FUNCTIONS, ApiPart, Exercise

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
PLACEHOLDER = "raise NotImplementedError"
SOLUTION_REGION = re.compile(
    rf"^(?P<indent>[ \t]*){re.escape(BEGIN_SOLUTION)}\n.*?^(?P=indent){re.escape(END_SOLUTION)}\n",
    re.MULTILINE | re.DOTALL,
)

PACKAGE_DOCSTRING = '''"""Your code for the course: one file per step, which the notebooks import and check.

Run a file from the course's folder with `python -m mycode.<file name>` (for example
`python -m mycode.ii_4_server`), and check it with
`pytest tests/student --stage <step> --impl mycode/<file name>.py`.
"""
'''


def reference_path(module: str) -> Path:
    """The file of one of the course's modules, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"the course has no module {module}")
    return Path(spec.origin)


def marked_source(exercise: Exercise) -> str:
    """Our module as a file of mycode/ (no header): the student's parts between solution markers,
    imports of other steps redirected to mycode/."""
    text = reference_path(exercise.reference).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    tree = ast.parse(text)
    edits: list[tuple[int, int, list[str]]] = []  # (first line, last line, new lines), 1-based
    if exercise.written_by_student:
        for function in functions_to_write(tree):
            first, last = body_lines(function, lines)
            indent = re.match(r"[ \t]*", lines[first - 1]).group()  # type: ignore[union-attr]
            marked = [f"{indent}{BEGIN_SOLUTION}\n", *lines[first - 1 : last], f"{indent}{END_SOLUTION}\n"]
            edits.append((first, last, marked))
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (rewritten := redirected_import(node)) is not None:
            edits.append((node.lineno, node.end_lineno or node.lineno, [rewritten]))
    for first, last, new_lines in sorted(edits, reverse=True):
        lines[first - 1 : last] = new_lines
    return redirect_module_names("".join(lines))


def solution_source(exercise: Exercise) -> str:
    """The file of mycode/ with our solution in it, marked: the teacher's key."""
    if exercise.api:
        return header(exercise, solution=True) + api_solution(exercise)
    return header(exercise, solution=True) + marked_source(exercise)


def skeleton_source(exercise: Exercise) -> str:
    """The file of mycode/ a student starts from: our solution's regions replaced by a placeholder."""
    if exercise.api:
        return header(exercise, solution=False) + strip_solutions(api_skeleton(exercise))
    return header(exercise, solution=False) + strip_solutions(marked_source(exercise))


API_DOCSTRING = '''"""Part III's protocol, yours: frames to bytes and back, as docs/PROTOCOL.md lays them out.

The frames (one dataclass per frame type), their type bytes, the error codes, `ProtocolError` and
the limits are given, in `chatlib.app.protocol.frames`. Write how they travel: `encode` gives a
frame's bytes, a `FrameDecoder` turns bytes however cut into whole frames, and a `ServerLink`
reads whole frames from a connection. (Write `async def read_frame(reader)` instead of the
class if you prefer: the checks take either.)
"""

from __future__ import annotations

import asyncio

from chatlib.app.protocol.frames import *  # noqa: F403 (the frames, FrameType, ErrorCode, limits...)
'''


def api_skeleton(exercise: Exercise) -> str:
    """A file made of our API's signatures and docstrings, each body between solution markers."""
    parts = [API_DOCSTRING]
    for part in exercise.api:
        parts.append("\n\n" + api_part_source(part))
    return "".join(parts)


def api_part_source(part: ApiPart) -> str:
    """One function, or one class with the chosen methods, as a skeleton whose bodies are marked."""
    text = reference_path(part.module).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    node = next(
        node
        for node in ast.parse(text).body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == part.name
    )
    if not isinstance(node, ast.ClassDef):
        return _marked_function(node, lines)
    first_member = node.body[1] if ast.get_docstring(node) is not None else node.body[0]
    start = _first_line(node)
    pieces = ["".join(lines[start - 1 : _first_line(first_member) - 1]).rstrip("\n") + "\n"]
    for member in node.body:
        if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and member.name in part.methods:
            pieces.append("\n" + _marked_function(member, lines))
    return "".join(pieces)


def _first_line(node: ast.stmt) -> int:
    """The first line of a definition, its decorators included."""
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(decorator.lineno for decorator in decorators)])


def _marked_function(function: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> str:
    """A function's text with its body between solution markers."""
    first, last = body_lines(function, lines)
    indent = re.match(r"[ \t]*", lines[first - 1]).group()  # type: ignore[union-attr]
    head = lines[_first_line(function) - 1 : first - 1]
    return "".join(
        [*head, f"{indent}{BEGIN_SOLUTION}\n", *lines[first - 1 : last], f"{indent}{END_SOLUTION}\n"]
    )


def api_solution(exercise: Exercise) -> str:
    """The file for the key: our API itself, imported from the modules that define it."""
    imports = "".join(f"from {part.module} import {part.name}\n" for part in exercise.api)
    return (
        API_DOCSTRING.split("\nfrom __future__")[0].rstrip("\n")
        + "\n\nfrom __future__ import annotations\n\n"
        + "# The course's solution: its protocol package (chatlib/app/protocol/) and the client's link.\n"
        + imports
    )


def strip_solutions(text: str) -> str:
    """Replace each `### BEGIN SOLUTION` ... `### END SOLUTION` region with `raise NotImplementedError`."""
    return SOLUTION_REGION.sub(lambda region: f"{region['indent']}{PLACEHOLDER}\n", text)


def functions_to_write(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The module's top-level functions a student writes: all but the command line's."""
    return [
        node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name not in GIVEN_FUNCTIONS
    ]


def body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> tuple[int, int]:
    """The first and last line (1-based) of a function's code: after its docstring, comments included."""
    body = function.body
    if ast.get_docstring(function) is not None:
        first = (body[0].end_lineno or body[0].lineno) + 1
    else:
        first = body[0].lineno
        while first - 1 > function.lineno and lines[first - 2].strip().startswith("#"):
            first -= 1  # a comment just above the first statement belongs to the code
    return first, function.end_lineno or body[-1].lineno


def module_names() -> dict[str, str]:
    """Each of our modules that a mycode/ file replaces, and that file's module name."""
    return {exercise.reference: exercise.module for exercise in EXERCISES if not exercise.api}


def redirect_module_names(text: str) -> str:
    """`chatlib.first_steps.web_sync` becomes `mycode.web_sync` everywhere: imports, docstrings, commands."""
    for reference, mine in sorted(module_names().items(), key=lambda pair: -len(pair[0])):
        text = re.sub(rf"(?<![\w.]){re.escape(reference)}(?![\w])", mine, text)
    return text


def redirected_import(node: ast.ImportFrom) -> str | None:
    """`from chatlib.first_steps import web_sync_multiple` as `from mycode import web_sync_multiple`.

    None when the import names no module that a mycode/ file replaces.
    """
    replaced = module_names()
    if node.module is None or not all(f"{node.module}.{alias.name}" in replaced for alias in node.names):
        return None
    names = []
    for alias in node.names:
        mine = replaced[f"{node.module}.{alias.name}"].removeprefix("mycode.")
        local = alias.asname or alias.name
        names.append(mine if mine == local else f"{mine} as {local}")
    return f"from mycode import {', '.join(names)}\n"


def header(exercise: Exercise, *, solution: bool) -> str:
    """The comment at the top of a mycode/ file: what it is, how to run it and check it."""
    run = "" if exercise.api else f"# Run it:   python -m {exercise.module}   (from the course's folder)\n"
    if not exercise.written_by_student:
        return f"# Given code (you need not change it); it uses your own files of mycode/.\n{run}\n"
    check = f"# Check it: pytest tests/student --stage {exercise.step} --impl {exercise.path}\n"
    if solution and exercise.api:
        what = f"# The course's solution for step {exercise.step}: its protocol package (teacher's key).\n"
    elif solution:
        what = (
            f"# The course's solution for step {exercise.step}: each function's code is between\n"
            f"# {BEGIN_SOLUTION} and {END_SOLUTION} (the teacher's key).\n"
        )
    else:
        what = (
            f"# Your code for step {exercise.step}: replace each `{PLACEHOLDER}` with your code.\n"
            "# Keep the names and parameters: the checks call them.\n"
        )
    return f"{what}{check}{run}\n"


def write_mycode(
    folder: Path, *, solutions: frozenset[str] = frozenset(), overwrite: bool = False
) -> list[Path]:
    """Write every file of mycode/ into `folder`: skeletons, or our solution for the steps in `solutions`.

    Files already there are kept unless `overwrite`; returns the files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    package = folder / "__init__.py"
    if overwrite or not package.exists():
        package.write_text(PACKAGE_DOCSTRING, encoding="utf-8")
        written.append(package)
    for exercise in EXERCISES:
        file = folder / f"{exercise.name}.py"
        if file.exists() and not overwrite:
            continue
        solved = exercise.step in solutions or not exercise.written_by_student
        file.write_text(solution_source(exercise) if solved else skeleton_source(exercise), encoding="utf-8")
        written.append(file)
    return written
