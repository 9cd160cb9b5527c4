"""In a real Jupyter kernel, a check on code that freezes, waits for a keyboard or exits ends with a
report, and the kernel goes on: the next cells run, and the fixed code passes, without a restart."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tests.notebook_runner import NOTEBOOKS, cell_text_outputs

pytestmark = pytest.mark.notebook

CELLS = [
    # notebook 01 makes the kernel's loop re-entrant before its checks: the checks must work with it
    "from chatlib.notebook.nesting import allow_nested_event_loops\nallow_nested_event_loops()",
    # 1: a count that holds the event loop (time.sleep, never an await)
    "import asyncio, sys, time\n"
    "from chatlib.checks import check\n"
    "\n"
    "async def count(pause=0.5, show=print):\n"
    "    for number in range(10):\n"
    "        show(str(number))\n"
    "        time.sleep(0.5)",
    # 2
    "started = time.monotonic()\n"
    "report = await check('sleep_async', count=count)\n"
    "elapsed = time.monotonic() - started",
    # 3: the kernel answers at once
    "print('elapsed below 30 s:', elapsed < 30, '| passed:', report.passed, '| 6 x 7 =', 6 * 7)",
    # 4: a client that calls input()
    "async def run_client(host, port, read_line, show=print):\n"
    "    reader, writer = await asyncio.open_connection(host, port)\n"
    "    writer.write(b'Hello')\n"
    "    while True:\n"
    "        writer.write(input('> ').encode())\n"
    "\n"
    "await check('ii_3', client=run_client)",
    # 5: a count that calls sys.exit()
    "def exiting_count(pause, show):\n"
    "    sys.exit('stop')\n"
    "\n"
    "await check('sleep_sync', count=exiting_count)\n"
    "print('still here')",
    # 6: fixed
    "async def count(pause=0.5, show=print):\n"
    "    for number in range(10):\n"
    "        show(str(number))\n"
    "        await asyncio.sleep(pause)\n"
    "\n"
    "async def count_twice(pause=0.5, show=print):\n"
    "    await asyncio.gather(count(pause, show), count(pause, show))\n"
    "\n"
    "await check('sleep_async', count=count, count_twice=count_twice)",
    # 7: a later cell rebinds `count`
    "for count in range(3):\n"
    "    pass\n"
    "\n"
    "await check('sleep_async', count=count, count_twice=count_twice)",
    # 8
    "print('kernel alive', 1 + 1)",
]


def test_the_kernel_stays_usable_after_checks_on_code_that_freezes_asks_or_exits() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    NotebookClient(
        notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = [cell_text_outputs(cell) for cell in notebook.cells]

    assert (
        "your code blocked the event loop for 3 s, at your notebook cell, line 7, in count: time.sleep(0.5)"
        in (outputs[2])
    )
    assert "time.sleep() stops the whole event loop" in outputs[2]
    assert outputs[3] == "elapsed below 30 s: True | passed: False | 6 x 7 = 42\n"
    assert "your code called input(), which waits for a keyboard: a check has none" in outputs[4]
    assert "at your notebook cell, line 5, in run_client: writer.write(input('> ').encode())" in outputs[4]
    assert "your code raised sys.exit()" in outputs[5] and outputs[5].endswith("still here\n")
    assert "Checks for sleep_async (sleep and print, asynchronous): 2 passed, 0 failed" in outputs[6]
    assert "`count` is now an int (2), not your function: a later cell rebound the name" in outputs[7]
    assert "count_twice calls `count`, which is now an int (2)" in outputs[7]
    assert "TypeError" not in outputs[7]
    assert outputs[8] == "kernel alive 2\n"
