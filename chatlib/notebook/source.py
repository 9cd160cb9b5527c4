"""Show the course's code in a notebook: a module or function, what changed between two versions,
or two versions side by side (the synchronous step next to its asynchronous twin).

Each helper returns an object that Jupyter displays as highlighted code (HTML) and that reads as
plain text anywhere else, so a cell ending with ``show_source(web_sync.get_content)`` shows the
code the course runs, never a copy of it.
"""

from __future__ import annotations

import difflib
import html
import inspect
from typing import Any

from IPython.display import Code


def source_of(obj: object) -> str:
    """The source code of a module, class or function, as written in its file."""
    return inspect.getsource(obj)  # type: ignore[arg-type]


def show_source(*objects: object) -> Code:
    """The source code of modules, classes or functions, highlighted, one after the other."""
    return Code("\n\n".join(source_of(obj) for obj in objects), language="python")


def show_changes(old: object, new: object) -> Code:
    """What changed from one version of a module (or function) to the next, as `diff -u` shows it."""
    lines = difflib.unified_diff(
        source_of(old).splitlines(keepends=True),
        source_of(new).splitlines(keepends=True),
        _name(old),
        _name(new),
    )
    return Code("".join(lines), language="diff")


class SideBySide:
    """Two pieces of code next to each other in HTML, one after the other as plain text."""

    def __init__(self, left: tuple[str, str], right: tuple[str, str]) -> None:
        self.columns = (left, right)  # (title, code) each

    def _repr_html_(self) -> str:
        """Two highlighted columns, each under its title."""
        columns = "".join(
            '<div style="flex:1;min-width:0;overflow-x:auto">'
            f"<b>{html.escape(title)}</b>{Code(code, language='python')._repr_html_()}</div>"
            for title, code in self.columns
        )
        return f'<div style="display:flex;gap:1.5em;align-items:flex-start">{columns}</div>'

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """The two pieces one after the other, each under a title line."""
        printer.text("\n".join(f"# --- {title} ---\n{code.rstrip()}\n" for title, code in self.columns))


def side_by_side(left: object, right: object) -> SideBySide:
    """Two versions of the same code next to each other: `side_by_side(sync.count, asynchronous.count)`."""
    return SideBySide((_name(left), source_of(left)), (_name(right), source_of(right)))


def _name(obj: object) -> str:
    """Where an object comes from, as a title: `chatlib.first_steps.web_sync.get_content`."""
    if inspect.ismodule(obj):
        return obj.__name__
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
