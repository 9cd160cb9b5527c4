"""A JsonLinesFile writing under a real file-size limit, as a process of its own (``RLIMIT_FSIZE``).

The kernel then stops a write at the limit exactly as a full disk stops it: the bytes up to the
limit land in the file, the write returns short, and the next one fails (``EFBIG`` here,
``ENOSPC`` on a full disk). The limit is per process, so it runs apart from pytest::

    python -m tests.hardening.size_limited_writer FILE STEP...

Each step is ``append:N`` (N more records, numbered on from the last), ``limit:BYTES`` (the file
may grow to BYTES), ``unlimit``, ``max_queued:BYTES`` (the most that may wait unsaved) or ``flush``. After each flush it prints one JSON line: the
file's size and how many records still wait.
"""

from __future__ import annotations

import asyncio
import json
import resource
import signal
import sys
from pathlib import Path

from chatlib.app.server import storage
from chatlib.app.server.storage import JsonLinesFile

RECORD_TEXT = "x" * 40  # each record is one line of about 60 bytes


async def run(path: Path, steps: list[str]) -> None:
    """Carry out the steps on one JsonLinesFile, reporting after each flush."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing us
    _, hard_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    file = JsonLinesFile(path)
    numbered = 0
    for step in steps:
        action, _, argument = step.partition(":")
        match action:
            case "append":
                for _ in range(int(argument)):
                    file.append({"n": numbered, "text": RECORD_TEXT})
                    numbered += 1
            case "limit":
                resource.setrlimit(resource.RLIMIT_FSIZE, (int(argument), hard_limit))
            case "unlimit":
                resource.setrlimit(resource.RLIMIT_FSIZE, (hard_limit, hard_limit))
            case "max_queued":
                storage.MAX_QUEUED_BYTES = int(argument)
            case "flush":
                await file.flush()
                size = path.stat().st_size if path.exists() else 0
                print(json.dumps({"size": size, "queued": file.queued}), flush=True)
            case _:
                raise SystemExit(f"unknown step {step!r}")


if __name__ == "__main__":
    asyncio.run(run(Path(sys.argv[1]), sys.argv[2:]))
