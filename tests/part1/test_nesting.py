"""`allow_nested_event_loops` in a real Jupyter kernel.

`asyncio.run` works in a cell, and the cells queued behind it (JupyterLab's "Run All") still run.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

pytestmark = pytest.mark.notebook


@pytest.fixture
def kernel() -> Iterator[BlockingKernelClient]:
    """A fresh python3 kernel, shut down after the test."""
    manager: KernelManager
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run_queued_cells(client: BlockingKernelClient, cells: list[str]) -> list[str]:
    """Send every cell at once, as "Run All" does, and return what they printed (or their errors)."""
    pending = {client.execute(code) for code in cells}
    printed: list[str] = []
    while pending:
        try:
            message = client.get_iopub_msg(timeout=30)
        except queue.Empty:
            pytest.fail(f"{len(pending)} cells never finished; printed so far: {printed}")
        content, parent = message["content"], message["parent_header"].get("msg_id")
        if message["msg_type"] == "stream":
            printed.append(content["text"])
        elif message["msg_type"] == "error":
            printed.append(f"{content['ename']}: {content['evalue']}")
        elif message["msg_type"] == "status" and content["execution_state"] == "idle":
            pending.discard(parent)
    return printed


def test_asyncio_run_works_in_a_cell_and_later_cells_still_run(kernel: BlockingKernelClient) -> None:
    printed = run_queued_cells(kernel, [
        "import asyncio\n"
        "from chatlib.notebook.nesting import allow_nested_event_loops\n"
        "from chatlib.first_steps import sleep_and_print_async\n"
        "allow_nested_event_loops()",
        "shown = []\n"
        "asyncio.run(sleep_and_print_async.count_twice(0.05, shown.append))\n"
        "print(' '.join(shown))",
        "print('second cell ran')",
        "await asyncio.sleep(0.01)\nprint('third cell ran')",
    ])
    assert "".join(printed) == ("0 0 1 1 2 2 3 3 4 4 5 5 6 6 7 7 8 8 9 9\n"
                                "second cell ran\nthird cell ran\n")
