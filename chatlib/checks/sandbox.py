"""Run one scenario so that nothing it starts outlives it: every task it creates is recorded and ended.

A scenario starts the student's server or client, whose tasks (one per connection, or the
client's two coroutines) may not end by themselves. Tasks inherit the context they are created
in, so a context variable set for the scenario, and a task factory that reads it, finds them all.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

Result = TypeVar("Result")

CLEANUP_TIMEOUT = 2.0

_SCENARIO_TASKS: contextvars.ContextVar[set[asyncio.Task[Any]] | None] = contextvars.ContextVar(
    "_SCENARIO_TASKS", default=None
)


def _install_task_recording(loop: asyncio.AbstractEventLoop) -> None:
    """Make `loop` record each task created inside a scenario (keeping any task factory already there)."""
    previous_factory = loop.get_task_factory()
    if getattr(previous_factory, "records_scenario_tasks", False):
        return

    def task_factory(loop: asyncio.AbstractEventLoop, coroutine: Any, **options: Any) -> asyncio.Task[Any]:
        if previous_factory is None:
            task = asyncio.Task(coroutine, loop=loop, **options)
        else:
            task = previous_factory(loop, coroutine, **options)
        scenario_tasks = _SCENARIO_TASKS.get()
        if scenario_tasks is not None:
            scenario_tasks.add(task)
            task.add_done_callback(scenario_tasks.discard)
        return task

    task_factory.records_scenario_tasks = True  # type: ignore[attr-defined]
    loop.set_task_factory(task_factory)


async def run_isolated(
    scenario: Callable[[], Awaitable[Result]], timeout: float, errors: list[BaseException]
) -> Result:
    """Run `scenario()` within `timeout` seconds (TimeoutError after), then end every task it left behind.

    Exceptions that would only have been logged meanwhile (raised in a connection's handler,
    say) are appended to `errors` instead, so the report can show them.
    """
    loop = asyncio.get_running_loop()
    _install_task_recording(loop)
    previous_handler = loop.get_exception_handler()

    def record_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, BaseException) and not isinstance(error, asyncio.CancelledError):
            errors.append(error)

    scenario_tasks: set[asyncio.Task[Any]] = set()
    context = contextvars.copy_context()
    context.run(_SCENARIO_TASKS.set, scenario_tasks)

    async def with_timeout() -> Result:
        async with asyncio.timeout(timeout):
            return await scenario()

    loop.set_exception_handler(record_error)
    main = loop.create_task(with_timeout(), context=context)
    try:
        return await main
    finally:
        main.cancel()
        await _end_tasks(scenario_tasks)
        loop.set_exception_handler(previous_handler)


async def _end_tasks(tasks: set[asyncio.Task[Any]]) -> None:
    """Cancel the tasks still running and wait for them: being stopped here is their normal end."""
    left = [task for task in tasks if not task.done()]
    if not left:
        return
    for task in left:
        task.cancel()
    await asyncio.wait(left, timeout=CLEANUP_TIMEOUT)
    await asyncio.sleep(0)  # let the done-callbacks that report errors run while they are recorded
