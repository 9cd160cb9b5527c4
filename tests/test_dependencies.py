"""pyproject.toml declares every package chatlib imports: those it always needs in `dependencies`,
those only an option imports (NATS for --cluster, uvloop for --loop uvloop) in an extra."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import course

CHATLIB = course.REPO / "chatlib"
OPTIONAL_MODULES = ("nats", "uvloop")
"""Third-party modules that chatlib imports only when an option asks for them."""


def distribution_name(requirement: str) -> str:
    """`uvloop; sys_platform != 'win32'` and `Nest_Asyncio2>=1` as `uvloop` and `nest-asyncio2`."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement.strip())
    assert name is not None, requirement
    return re.sub(r"[-_.]+", "-", name.group()).lower()


def imported_modules(file: Path) -> set[str]:
    """The top-level modules a file imports, and those it reads data from (`resources.files("x")`)."""
    modules = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("files", "import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            modules.add(node.args[0].value.split(".")[0])
    return modules


def third_party_imports() -> dict[str, set[str]]:
    """Distribution -> the chatlib files that import it (the standard library and chatlib aside)."""
    distributions = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for file in CHATLIB.rglob("*.py"):
        for module in imported_modules(file) - set(sys.stdlib_module_names) - {"chatlib", "__future__"}:
            for distribution in distributions.get(module, [module]):
                importer = str(file.relative_to(course.REPO))
                found.setdefault(distribution_name(distribution), set()).add(importer)
    return found


def test_every_package_chatlib_imports_is_declared() -> None:
    project = tomllib.loads((course.REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    required = {distribution_name(requirement) for requirement in project["dependencies"]}
    extras = {
        distribution_name(requirement)
        for requirements in project.get("optional-dependencies", {}).values()
        for requirement in requirements
    }
    imported = third_party_imports()
    assert {"pyte", "ipython", "confusable-homoglyphs", "nats-py"} <= set(imported)
    undeclared = {name: sorted(files) for name, files in imported.items() if name not in required | extras}
    assert undeclared == {}
    distributions = importlib.metadata.packages_distributions()
    optional = {distribution_name(name) for module in OPTIONAL_MODULES for name in distributions[module]}
    assert {name for name in imported if name not in required} == optional  # the rest is always needed


def test_chatlib_runs_without_its_optional_packages() -> None:
    """With NATS and uvloop unimportable, the server, the client, the checks, the notebooks' helpers
    and the classroom tools still import: only the options that ask for them need them."""
    blocked = "".join(f"sys.modules[{name!r}] = None\n" for name in OPTIONAL_MODULES)
    probe = (
        "import importlib, sys\n"
        + blocked
        + "for module in ('chatlib.app.server.main', 'chatlib.app.client.main', 'chatlib.checks',\n"
        "               'chatlib.notebook.mycode', 'chatlib.notebook.app_demo', 'chatlib.bench.load',\n"
        "               'chatlib.classroom.release', 'chatlib.classroom.grading'):\n"
        "    importlib.import_module(module)\n"
        "print('imported')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=course.REPO, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "imported", result.stderr[-2000:]
