"""Summarise a py-spy profile (``--format raw``: one collapsed stack and its sample count a line).

``python -m chatlib.bench --profile FILE`` records the server with py-spy; this prints the
functions that cost most, both by self time (where the CPU actually was) and inclusive time
(the function and everything it called)::

    python -m chatlib.bench.profile_summary FILE [--top 15]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_LINE_NUMBER = re.compile(r":\d+\)$")
# Threads blocked on a queue or a lock that py-spy still counts as active: left out entirely.
IDLE_LEAVES = (
    "_worker (concurrent/futures/thread.py)", "Condition.wait (threading.py)", "Event.wait (threading.py)",
)
# Importing modules as the server starts: not the relay's work, and a large share of a short run.
START_UP_FRAMES = ("_find_and_load (<frozen importlib._bootstrap>)",)
# Frames on nearly every stack (the interpreter, the event loop): left out of the inclusive list.
SCAFFOLDING = (
    "<frozen runpy>", "asyncio/runners.py", "asyncio/base_events.py", "asyncio/events.py", "threading.py",
    "<module> (chatlib/app/server.py)", "main (chatlib/app/server.py)",
)


@dataclass(frozen=True)
class ProfileSummary:
    """Sample counts per function: self (leaf of the stack) and inclusive (anywhere on it)."""

    samples: int
    idle_samples: int
    start_up_samples: int
    self_samples: Counter[str]
    inclusive_samples: Counter[str]

    def top(self, kind: str, count: int) -> list[tuple[float, str]]:
        """The ``count`` costliest functions by ``kind`` ("self" or "inclusive"), as (percent, name)."""
        counter = self.self_samples if kind == "self" else self.inclusive_samples
        return [(100 * samples / self.samples, name) for name, samples in counter.most_common(count)]


def summarise(collapsed_stacks: str) -> ProfileSummary:
    """Count the samples of each function in py-spy's raw output (line numbers merged)."""
    self_samples: Counter[str] = Counter()
    inclusive_samples: Counter[str] = Counter()
    total = idle = start_up = 0
    for line in collapsed_stacks.splitlines():
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        samples = int(count_text)
        functions = [_LINE_NUMBER.sub(")", frame) for frame in stack.split(";")]
        if functions[-1] in IDLE_LEAVES:
            idle += samples
            continue
        if any(frame in START_UP_FRAMES for frame in functions):
            start_up += samples
            continue
        total += samples
        self_samples[functions[-1]] += samples
        for function in set(functions):
            if not any(part in function for part in SCAFFOLDING):
                inclusive_samples[function] += samples
    return ProfileSummary(total, idle, start_up, self_samples, inclusive_samples)


def summary_text(summary: ProfileSummary, top: int = 15) -> str:
    """The two top lists as aligned text."""
    lines = [
        f"{summary.samples} samples ({summary.idle_samples} of idle threads "
        f"and {summary.start_up_samples} of start-up imports left out)"
    ]
    for kind in ("self", "inclusive"):
        lines.append(f"top {top} by {kind} time:")
        lines += [f"  {percent:5.1f} %  {name}" for percent, name in summary.top(kind, top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the summary of a py-spy raw profile file."""
    parser = argparse.ArgumentParser(
        prog="python -m chatlib.bench.profile_summary", description="Summarise a py-spy raw profile."
    )
    parser.add_argument("file", type=Path, help="a py-spy record --format raw output file")
    parser.add_argument("--top", type=int, default=15, help="how many functions per list (default 15)")
    options = parser.parse_args(argv)
    try:
        text = options.file.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        print(f"profile_summary: cannot read {options.file}: {error.strerror or error}", file=sys.stderr)
        return 1
    print(summary_text(summarise(text), options.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
