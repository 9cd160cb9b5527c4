"""Stopping student code that does not stop by itself: an exception raised inside its thread.

CPython can raise an exception in another thread, at its next Python instruction. It stops a
loop that never awaits, and a time.sleep() as soon as it returns; a thread stuck in a C call
for good is left behind (the checks' threads are daemons, so Python can still exit).
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable

from chatlib.checks.locations import thread_spot

THREAD_PREFIX = "chatlib-check"
"""Every thread the checks start is named with this prefix."""


class ScenarioAbandoned(BaseException):
    """Raised inside student code that blocked the loop, to stop it (a BaseException: `except Exception`
    in the student's code does not swallow it)."""


def raise_in_thread(thread_ident: int) -> bool:
    """Raise ScenarioAbandoned in a thread, at its next Python instruction; True if it was found."""
    found = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_ident), ctypes.py_object(ScenarioAbandoned)
    )
    return found == 1


def stop_threads_soon(
    threads: list[threading.Thread], when: Callable[[], bool] = lambda: True, tries: int = 100
) -> None:
    """Keep raising ScenarioAbandoned in the threads still alive, while in the student's code (every
    0.1 s, `tries` times), in the background: `except BaseException` may swallow the first one, and
    a time.sleep() only lets it through when it returns."""
    alive = [thread for thread in threads if thread.is_alive() and thread.ident is not None]
    if not alive:
        return

    def keep_stopping() -> None:
        for _ in range(tries):
            left = [thread for thread in alive if thread.is_alive()]
            if not left:
                return
            for thread in left:
                if thread.ident is not None and thread_spot(thread.ident) is not None and when():
                    raise_in_thread(thread.ident)
            time.sleep(0.1)

    threading.Thread(target=keep_stopping, name=f"{THREAD_PREFIX}-stopper", daemon=True).start()


def threads_named(prefix: str) -> list[threading.Thread]:
    """The threads alive whose name starts with `prefix`."""
    return [thread for thread in threading.enumerate() if thread.name.startswith(prefix)]
