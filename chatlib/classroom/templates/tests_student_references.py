"""In this edition, what tests/student checks when no --impl is given: your own files of mycode/."""

from __future__ import annotations

from typing import Any

from chatlib.notebook.mycode import implementation_of


def reference(step: str) -> dict[str, Any]:
    """Your implementation of `step`, by keyword, read from mycode/ as it is now."""
    return implementation_of(step)[0]
