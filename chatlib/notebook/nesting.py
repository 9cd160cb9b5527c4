"""Let a script's `main()`, which calls `asyncio.run()`, run unchanged inside a notebook cell.

A notebook cell already runs inside the kernel's event loop, and asyncio refuses to
start a second one there ("asyncio.run() cannot be called from a running event loop").
`allow_nested_event_loops()` patches asyncio so the running loop can be re-entered.

Trade-off: it monkey-patches asyncio for the whole kernel (pure-Python tasks, a
re-implemented loop step), so use it to run course scripts in cells, never in
production code; in a cell, prefer a plain top-level `await`. The original
`nest_asyncio` is archived and, with ipykernel 7, silently drops the cells queued
behind one that nests (JupyterLab's "Run All"); we use its maintained fork
`nest-asyncio2`, which ipykernel itself depends on and which handles that case.
"""

from __future__ import annotations

import nest_asyncio2


def allow_nested_event_loops() -> None:
    """Make the current event loop re-entrant, so `asyncio.run()` works inside a running loop."""
    nest_asyncio2.apply()
