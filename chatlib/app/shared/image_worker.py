"""A helper process that decodes images, one at a time, each within a deadline.

Decoding an image from a peer is the most expensive thing a peer can ask of a program, and the
decoder runs C code on data made to hurt it. So the chat server and client never decode on
their own threads: they hand the bytes to ``ImageWorker``, which passes them to a child process
(``python -m chatlib.app.shared.image_worker``, started on first use) and waits for the answer
in a thread of its own, never the event loop's nor the one that saves the history. The child
decodes one image at a time, at a lower priority than the program that started it. If it has
not answered within ``timeout`` seconds it is killed (a thread could not be) and the image is
refused; the next image starts a new child. Its memory goes back to the system with it.

    worker = ImageWorker(timeout=5.0)
    facts = await worker.run(check_image, data)  # BadImage if refused, or too slow
    worker.close()

Requests and answers cross the child's stdin and stdout as pickles, each preceded by its length
(4 bytes, big-endian): both ends are this module, so pickle is safe here.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import IO, Any, TypeVar

import chatlib
from chatlib.app.shared.images import BadImage

Result = TypeVar("Result")

DEFAULT_TIMEOUT = 5.0  # seconds: the largest legal image decodes in under a second
DEFAULT_MAX_WAITING = 8  # images waiting for the worker (with the one it decodes) before refusing more
START_TIMEOUT = 60.0  # seconds for a new child to import Pillow, on the slowest machine
LOWER_PRIORITY = 10  # the child's nice increment: the event loop comes first when both want a CPU
READY = b"ready"
_LENGTH = struct.Struct(">I")


class WorkerStopped(Exception):
    """The child process ended (killed at the deadline, or by ``close``) before it answered."""


class ImageWorker:
    """Runs image functions (``check_image``, ``check_and_render``) in a child process, one at a time.

    ``run`` raises BadImage when the function does, when the image takes more than ``timeout``
    seconds, or when ``max_waiting`` images are already waiting (so that a flood of images costs
    a bounded amount of memory and of waiting).
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, max_waiting: int = DEFAULT_MAX_WAITING) -> None:
        self.timeout = timeout
        self.max_waiting = max_waiting
        self._waiting = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image worker")
        self._child: subprocess.Popen[bytes] | None = None
        self._closed = False

    @property
    def waiting(self) -> int:
        """Images handed to ``run`` and not answered yet."""
        return self._waiting

    async def run(self, function: Callable[..., Result], *arguments: Any, **keywords: Any) -> Result:
        """``function(*arguments, **keywords)`` in the child; BadImage if refused, too slow or too
        many waiting. ``function`` must be importable by name (a module-level function)."""
        if self._closed:
            raise BadImage("images are no longer decoded here (shutting down)")
        if self._waiting >= self.max_waiting:
            raise BadImage(f"{self._waiting} images are waiting to be decoded already; try again in a moment")
        self._waiting += 1
        try:
            request = pickle.dumps((function, arguments, keywords), protocol=pickle.HIGHEST_PROTOCOL)
            return await asyncio.get_running_loop().run_in_executor(self._thread, self._call, request)
        except asyncio.CancelledError:
            if self._closed:  # close() dropped the images still waiting
                raise BadImage("images are no longer decoded here (shutting down)") from None
            raise
        finally:
            self._waiting -= 1

    def _call(self, request: bytes) -> Any:
        """In the worker's thread: one round trip to the child, killed if it passes the deadline."""
        if self._closed:
            raise BadImage("images are no longer decoded here (shutting down)")
        child = self._child if self._child is not None and self._child.poll() is None else self._start()
        assert child.stdin is not None and child.stdout is not None
        too_late = threading.Event()

        def stop_the_child() -> None:
            too_late.set()
            child.kill()

        deadline = threading.Timer(self.timeout, stop_the_child)
        deadline.start()
        try:
            _write_message(child.stdin, request)
            outcome, value = pickle.loads(_read_message(child.stdout))
        except (WorkerStopped, OSError):
            self._forget_child()
            if self._closed:
                raise BadImage("images are no longer decoded here (shutting down)") from None
            if too_late.is_set():
                raise BadImage(f"the image took more than {self.timeout:g} s to decode") from None
            raise BadImage("the image could not be decoded (the decoder stopped)") from None
        finally:
            deadline.cancel()
        if outcome == "refused":
            raise BadImage(value)
        return value

    def _start(self) -> subprocess.Popen[bytes]:
        """Start the child and wait until it has imported Pillow (deadlines count from then)."""
        package_parent = str(Path(chatlib.__file__).resolve().parent.parent)
        python_path = os.pathsep.join(filter(None, (package_parent, os.environ.get("PYTHONPATH"))))
        child = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=os.environ | {"PYTHONPATH": python_path},
            creationflags=getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0),  # Windows only
        )
        self._child = child
        assert child.stdout is not None
        starting = threading.Timer(START_TIMEOUT, child.kill)
        starting.start()
        try:
            if _read_message(child.stdout) != READY:
                raise WorkerStopped
        except (WorkerStopped, OSError):
            self._forget_child()
            raise BadImage("the image decoder did not start") from None
        finally:
            starting.cancel()
        return child

    def _forget_child(self) -> None:
        """Kill the child if it still runs, and let the next image start another."""
        child, self._child = self._child, None
        if child is not None:
            with suppress(OSError):
                child.kill()
            child.wait()
            for pipe in (child.stdin, child.stdout):
                if pipe is not None:
                    with suppress(OSError):
                        pipe.close()

    def close(self) -> None:
        """Stop at once: the child is killed, and images still waiting are refused."""
        self._closed = True
        child = self._child
        if child is not None:
            with suppress(OSError):
                child.kill()  # the worker's thread then sees it stop, and cleans up
        self._thread.shutdown(wait=False, cancel_futures=True)


def _write_message(pipe: IO[bytes], message: bytes) -> None:
    """One message: its length, then its bytes."""
    pipe.write(_LENGTH.pack(len(message)) + message)
    pipe.flush()


def _read_message(pipe: IO[bytes]) -> bytes:
    """The next message; WorkerStopped if the pipe ends first."""
    header = pipe.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise WorkerStopped
    (length,) = _LENGTH.unpack(header)
    message = pipe.read(length)
    if len(message) < length:
        raise WorkerStopped
    return message


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The child: run each request, answer ("done", value) or ("refused", reason), until stdin ends."""
    with suppress(AttributeError, ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the program that started us
    with suppress(AttributeError, OSError):
        os.nice(LOWER_PRIORITY)  # POSIX; on Windows the parent asked for a lower priority class
    warnings.simplefilter("ignore")  # Pillow's remarks on odd files are not for the server's console
    _write_message(answers, READY)
    while True:
        try:
            function, arguments, keywords = pickle.loads(_read_message(requests))
        except WorkerStopped:  # the program that started us is gone
            return
        try:
            answer = ("done", function(*arguments, **keywords))
        except BadImage as reason:
            answer = ("refused", str(reason))
        except MemoryError:
            answer = ("refused", "the image needs too much memory to decode")
        except Exception as error:  # a decoder bug must not end the worker: the sender gets a reason
            answer = ("refused", f"the image could not be decoded ({type(error).__name__})")
        _write_message(answers, pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    answers, sys.stdout = sys.stdout.buffer, sys.stderr  # stdout carries the answers, nothing else
    serve(sys.stdin.buffer, answers)
