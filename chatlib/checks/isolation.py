"""Run a scenario so that, whatever the student's code does, the check ends in time with a report.

Each scenario runs on an event loop of its own, in a thread of its own (the *worker*). The
caller's loop (the notebook kernel's, pytest's) only watches: the worker's loop ticks a
heartbeat, and when it stops ticking the student's code is blocking the loop (time.sleep, a
loop that never awaits, a blocking call). The watcher then looks at the worker's stack to name
the student's line. After BLOCK_LIMIT seconds it gives up on the scenario: it raises
ScenarioAbandoned inside the student's code to stop it, so the loop can close its sockets. A
thread stuck inside a C call (a long time.sleep) cannot be stopped: it is left behind (a daemon
thread, which never keeps Python from exiting) and the report is produced all the same.

Why threads and not a subprocess per scenario: in a notebook the student's functions live in
the kernel and cannot be sent to another process; one mechanism serves the notebook, pytest and
`python -m chatlib.checks` alike. A grader who wants a process boundary runs that command.
"""

from __future__ import annotations

import asyncio
import concurrent.futures.thread
import contextvars
import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from chatlib.checks.locations import Spot, awaiting_spot, thread_spot
from chatlib.checks.loop_watch import LATE_SECONDS, Freeze, LoopWatch
from chatlib.checks.stopping import THREAD_PREFIX, ScenarioAbandoned, stop_threads_soon, threads_named

WATCH_SECONDS = 0.01
"""How often the watcher looks at the heartbeat."""
BLOCK_LIMIT = 3.0
"""A loop blocked this long is given up on: the scenario fails, naming the student's line."""
GRACE_SECONDS = 3.0
"""How long past its own timeout a scenario may take to wind up before it is abandoned."""
RELEASE_SECONDS = 3.0
"""How long stopped student code has to let go of the loop before its thread is abandoned."""
CLEANUP_SECONDS = 2.0
"""How long the tasks a scenario leaves behind have to end once cancelled."""

_run_numbers = itertools.count(1)
_CURRENT_RUN: contextvars.ContextVar[ScenarioRun | None] = contextvars.ContextVar(
    "_CURRENT_RUN", default=None
)


class StudentExit(Exception):
    """The student's code called sys.exit() (or raised KeyboardInterrupt) in a blocking function."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original


def current_watch() -> LoopWatch | None:
    """The heartbeat of the scenario running in this context (for scenarios that judge blocking)."""
    run = _CURRENT_RUN.get()
    return None if run is None else run.watch


@dataclass
class Outcome:
    """How one isolated run ended, everything the report needs to say why."""

    error: BaseException | None = None
    """What the scenario raised: a Mismatch, TimeoutError, the student's exception..."""
    escaped: BaseException | None = None
    """Raised right out of the event loop: sys.exit() or KeyboardInterrupt in the student's task."""
    raised_meanwhile: list[BaseException] = field(default_factory=list)
    freeze: Freeze | None = None
    overtime: bool = False
    finished: bool = True
    """False when the worker thread had to be left behind, still stuck in the student's code."""
    waiting: list[Spot] = field(default_factory=list)
    """Where the student's tasks were waiting when the scenario ran out of time."""
    writes_after_close: int = 0
    blocked_seconds: float = 0.0
    """How long, in all, the loop could not run while the scenario ran (short blocks added up)."""
    blocked_at: Spot | None = None
    """The student's line the loop was most often blocked at, if seen often enough to say."""
    elapsed: float = 0.0


class ScenarioRun:
    """One scenario on its own event loop in its own thread, and the means to stop it."""

    def __init__(self, scenario: Callable[[], Awaitable[None]], timeout: float) -> None:
        self.scenario = scenario
        self.timeout = timeout
        self.name = f"{THREAD_PREFIX}-{next(_run_numbers)}"
        self.watch = LoopWatch()
        self.outcome = Outcome()
        self.finished = threading.Event()
        self.blocking_threads: list[threading.Thread] = []
        self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None

    # --- In the worker thread ------------------------------------------------------------------

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        executor = ThreadPoolExecutor(thread_name_prefix=f"{self.name}-executor")
        loop.set_default_executor(executor)
        loop.set_exception_handler(self._record_error)
        try:
            context = contextvars.copy_context()
            context.run(_CURRENT_RUN.set, self)
            self._main = loop.create_task(self._supervised(), context=context)
            loop.run_until_complete(self._main)
        except BaseException as error:  # sys.exit() in a student's task stops the loop itself
            self.outcome.escaped = error
        finally:
            self._shut_down(loop, executor)
            self.finished.set()

    async def _supervised(self) -> None:
        """Run the scenario within its timeout; then end every task it left behind."""
        self.watch.start(asyncio.get_running_loop())
        scenario = asyncio.ensure_future(self.scenario())
        try:
            done, _ = await asyncio.wait({scenario}, timeout=self.timeout)
            if done:
                self.outcome.error = None if scenario.cancelled() else scenario.exception()
            else:
                self.outcome.waiting = self._waiting_spots()
                self.outcome.error = TimeoutError(f"did not finish within {self.timeout:g} s")
        except asyncio.CancelledError:
            pass  # the watcher gave up on this scenario: it says why
        finally:
            scenario.cancel()
            await end_tasks(asyncio.all_tasks() - {asyncio.current_task()})

    def _waiting_spots(self) -> list[Spot]:
        """Where each of the student's tasks is suspended (one line per place)."""
        spots: dict[tuple[str, int], Spot] = {}
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            found = awaiting_spot(task.get_coro())
            if found is not None:
                spots.setdefault((found.file, found.line), found)
        return list(spots.values())

    def _record_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Keep what the student's own tasks raised, for the report, instead of logging it."""
        error = context.get("exception")
        if isinstance(error, BaseException) and not isinstance(
            error, (asyncio.CancelledError, ScenarioAbandoned)
        ):
            self.outcome.raised_meanwhile.append(error)

    def _shut_down(self, loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor) -> None:
        """Close every connection still open, then the loop; never wait long for student code."""
        try:
            _run_despite_exits(loop, lambda: end_tasks(asyncio.all_tasks(loop)))
            # The loop keeps its transports (every connection) in _transports: abort those still
            # open, so no socket outlives the scenario even if the student's code never closed it.
            for transport in list(getattr(loop, "_transports", {}).values()):
                if transport is not None and not transport.is_closing():
                    transport.abort()
            _run_despite_exits(loop, lambda: asyncio.sleep(0.01))  # aborted transports close their sockets
            _run_despite_exits(loop, lambda: asyncio.wait_for(loop.shutdown_asyncgens(), CLEANUP_SECONDS))
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            loop.close()
            executor_threads = threads_named(f"{self.name}-executor")
            forget_at_exit(executor_threads)
            stop_threads_soon([*self.blocking_threads, *executor_threads])

    # --- In the watcher (the caller's loop) ----------------------------------------------------

    async def watch_until_done(self) -> Outcome:
        """Start the worker and watch it until it finishes, blocks too long or runs out of time."""
        started = time.monotonic()
        deadline = started + self.timeout + GRACE_SECONDS
        self.thread.start()
        while not self.finished.is_set():
            await asyncio.sleep(WATCH_SECONDS)
            lateness = self.watch.lateness()
            if lateness > LATE_SECONDS:
                self.watch.sample()
            if lateness >= BLOCK_LIMIT and self.watch.thread_ident:
                self.watch.sample()
                spot = self.watch.blocking_spot(time.monotonic() - lateness, at_least=1)
                self.outcome.freeze = Freeze(lateness, spot or thread_spot(self.watch.thread_ident))
                break
            if time.monotonic() > deadline:
                self.outcome.overtime = True
                break
        if not self.finished.is_set():
            self.stop()
            release_by = time.monotonic() + RELEASE_SECONDS
            while not self.finished.is_set() and time.monotonic() < release_by:
                await asyncio.sleep(WATCH_SECONDS)
        self.outcome.finished = self.finished.is_set()
        self.outcome.writes_after_close = WRITES_AFTER_CLOSE.pop(self.name, 0)
        self.outcome.blocked_seconds = self.watch.blocked_seconds(started)
        self.outcome.blocked_at = self.watch.blocking_spot(started, at_least=2)
        self.outcome.elapsed = time.monotonic() - started
        return self.outcome

    def stop(self) -> None:
        """Cancel the scenario, and raise ScenarioAbandoned in the student's code while it blocks the loop."""
        loop, main = self._loop, self._main
        if loop is not None and main is not None:
            try:
                loop.call_soon_threadsafe(main.cancel)
            except RuntimeError:
                pass  # the loop has just closed
        watch = self.watch

        def student_code_blocks_the_loop() -> bool:
            return watch.lateness() > LATE_SECONDS and thread_spot(watch.thread_ident) is not None

        stop_threads_soon([self.thread], when=student_code_blocks_the_loop)


async def run_isolated(scenario: Callable[[], Awaitable[None]], timeout: float) -> Outcome:
    """Run `scenario()` in a thread and event loop of its own, watched from the caller's loop."""
    run = ScenarioRun(scenario, timeout)
    try:
        return await run.watch_until_done()
    except BaseException:  # the caller was cancelled or interrupted: leave nothing running
        run.stop()
        raise


async def end_tasks(tasks: set[asyncio.Task[Any]]) -> None:
    """Cancel the tasks still running and wait for them a little: being stopped is their normal end."""
    left = [task for task in tasks if not task.done()]
    for task in left:
        task.cancel()
    if left:
        await asyncio.wait(left, timeout=CLEANUP_SECONDS)
    await asyncio.sleep(0)  # let the done-callbacks that report errors run while they are recorded


def _run_despite_exits(loop: asyncio.AbstractEventLoop, step: Callable[[], Awaitable[Any]]) -> None:
    """Run `step()` on `loop` to its end, a few times at most if it is interrupted: sys.exit() in a task
    stops the loop (and again in each task awaiting it), and the scenario's own clean-up may cancel it."""
    for _ in range(10):
        try:
            loop.run_until_complete(step())
            return
        except (SystemExit, KeyboardInterrupt, ScenarioAbandoned, asyncio.CancelledError):
            continue
        except Exception:  # noqa: BLE001 (a report is due whatever the student's code does here)
            return


def forget_at_exit(threads: list[threading.Thread]) -> None:
    """Keep Python's exit from waiting for these executor threads, stuck in student code maybe.

    concurrent.futures joins every worker thread of its executors when Python exits (through its
    private `_threads_queues`); one stuck in `time.sleep(60)` would hold the exit that long.
    """
    queues = getattr(concurrent.futures.thread, "_threads_queues", None)
    if queues is not None:
        for thread in threads:
            queues.pop(thread, None)


async def end_other_tasks() -> None:
    """Cancel every task of the running scenario but the caller's, and wait for them a little."""
    run = _CURRENT_RUN.get()
    keep = {asyncio.current_task(), run._main if run is not None else None}
    await end_tasks(asyncio.all_tasks() - keep)  # type: ignore[operator]


async def run_blocking(function: Callable[..., Any], *arguments: Any) -> Any:
    """Call a blocking function in a daemon thread of its own and await its result.

    The loop stays free meanwhile, and the thread can be stopped or left behind if the
    function never returns. sys.exit() inside it becomes a StudentExit for this call only.
    """
    loop = asyncio.get_running_loop()
    result: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if result.done():
            return
        if error is None:
            result.set_result(value)
        else:
            result.set_exception(error)

    def call() -> None:
        try:
            value, error = function(*arguments), None
        except ScenarioAbandoned:
            return
        except (SystemExit, KeyboardInterrupt) as exit_request:
            value, error = None, StudentExit(exit_request)
        except BaseException as raised:  # noqa: BLE001 (handed to the awaiting scenario)
            value, error = None, raised
        try:
            loop.call_soon_threadsafe(settle, value, error)
        except RuntimeError:
            pass  # the scenario is over and its loop closed

    run = _CURRENT_RUN.get()
    thread = threading.Thread(target=call, name=f"{run.name if run else THREAD_PREFIX}-blocking", daemon=True)
    if run is not None:
        run.blocking_threads.append(thread)
    thread.start()
    return await result


# --- asyncio's warnings about writes to closed connections ---------------------------------------

WRITES_AFTER_CLOSE: Counter[str] = Counter()
"""Per scenario thread, how many writes to an already closed connection asyncio warned about."""


class _WritesAfterClose(logging.Filter):
    """Count asyncio's "socket.send() raised exception." from a check's threads instead of printing it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.threadName and record.threadName.startswith(THREAD_PREFIX):
            if str(record.msg).startswith("socket.send() raised exception"):
                WRITES_AFTER_CLOSE[record.threadName] += 1
                return False
        return True


logging.getLogger("asyncio").addFilter(_WritesAfterClose())
