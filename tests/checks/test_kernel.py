"""In a real Jupyter kernel, a check on code that freezes, waits for a keyboard or exits ends with a
report, and the kernel goes on: the next cells run, and the fixed code passes, without a restart. The
same for a file of mycode/ whose top-level code does so, loaded with load_mine."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from chatlib.classroom.skeletons import write_mycode
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


TOP_LEVELS = {
    "sleep_sync": "import time\n\ntime.sleep(100)\n",
    "sleep_async": "pseudo = input('Your pseudo: ')\n",
    "web_sync": "while True:\n    pass\n",
    "web_async": "import sys\n\nsys.exit('bye')\n",
}
"""Files of mycode/ whose top-level code never ends, waits for a keyboard, or ends the program."""
ADVICE = 'put what starts the program under `if __name__ == "__main__":`'


def test_load_mine_reports_a_top_level_that_blocks_in_one_line_and_the_kernel_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "mycode"
    write_mycode(folder, solutions=frozenset({"sleep_sync"}))
    solution = (folder / "sleep_sync.py").read_text()
    for name, top_level in TOP_LEVELS.items():
        (folder / f"{name}.py").write_text(top_level)
    monkeypatch.setenv("CHATLIB_MYCODE", str(folder))
    fixed = f"from pathlib import Path\nPath({str(folder / 'sleep_sync.py')!r}).write_text({solution!r})"
    sources = [
        "import time\nfrom chatlib.notebook.mycode import load_mine, try_mine\nstarted = time.monotonic()",
        'mine = load_mine("sleep_sync")',  # as the notebook calls it: the default limit, 10 s
        "print('after', round(time.monotonic() - started), 's')",
        'mine = load_mine("sleep_async")',
        'mine = load_mine("web_sync", limit=2)',
        'mine = load_mine("web_async")',
        fixed,  # the student fixes the file while the first import still sleeps, and loads it again
        'mine = load_mine("sleep_sync")\nnumbers = []\nmine.count(0, numbers.append)\nprint(numbers)',
        "print('kernel alive', 6 * 7, 'within', time.monotonic() - started < 40)",
    ]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    for cell in notebook.cells:
        cell.metadata["tags"] = ["raises-exception"]
    NotebookClient(
        notebook, timeout=30, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    errors = [
        [output["traceback"] for output in cell.outputs if output["output_type"] == "error"]
        for cell in notebook.cells
    ]
    assert errors[1] == [
        [
            "MineNotReady: mycode/sleep_sync.py cannot be imported: its top-level code did not finish within "
            "10 s (sleep_sync.py, line 3: time.sleep(100)); code at the top level of a file runs when it is "
            f"imported; {ADVICE}"
        ]
    ]
    assert cell_text_outputs(notebook.cells[2]) in ("after 10 s\n", "after 11 s\n")
    assert errors[3] == [
        [
            "MineNotReady: mycode/sleep_async.py cannot be imported: it calls input() at the top level, which "
            "waits for a keyboard (sleep_async.py, line 1); code at the top level of a file runs when it is "
            f"imported; {ADVICE}"
        ]
    ]
    assert errors[4] == [
        [
            "MineNotReady: mycode/web_sync.py cannot be imported: its top-level code did not finish within "
            "2 s (web_sync.py, line 1: while True:); code at the top level of a file runs when it is "
            f"imported; {ADVICE}"
        ]
    ]
    assert errors[5] == [
        ["MineNotReady: mycode/web_async.py cannot be imported: SystemExit: bye (web_async.py, line 3)"]
    ]
    assert errors[6:] == [[], [], []]
    assert cell_text_outputs(notebook.cells[7]) == str([str(number) for number in range(10)]) + "\n"
    assert cell_text_outputs(notebook.cells[8]) == "kernel alive 42 within True\n"
