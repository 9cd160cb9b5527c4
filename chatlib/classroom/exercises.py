"""What students write: one file of ``mycode/`` per step (a Part II stage has a server and a client),
each generated from the course's own module for that step.

The course's modules are the single source. In a file the student writes, every top-level
function is the student's to write, except the command line around it (``GIVEN_FUNCTIONS``), so
that the file runs from a terminal as soon as it is written: ``python -m mycode.ii_4_server``.
Its imports of other steps point to the student's files: ``web_sync_multiple`` uses the
student's own ``web_sync``. A given module (``measure``) is copied whole, its imports redirected.

The protocol is spread over several of our modules (the encoder, the decoder, the client's link);
its file holds their public API only (``PROTOCOL_API``), and the frames come from
``chatlib.app.protocol.frames``, which every edition gives.
"""

from __future__ import annotations

from dataclasses import dataclass

STAGES = ("ii_2", "ii_3", "ii_4", "ii_5", "ii_6")

GIVEN_FUNCTIONS = frozenset({"main", "serve_forever", "parse_pause", "show_above_prompt"})
"""Functions kept as they are in every file: the command line and the terminal's display."""


@dataclass(frozen=True)
class ApiPart:
    """A function or class of ours whose signature (and, for a class, these methods') a file gives."""

    module: str
    name: str
    methods: tuple[str, ...] = ()


PROTOCOL_API = (
    ApiPart("chatlib.app.protocol.encoding", "encode"),
    ApiPart("chatlib.app.protocol.decoding", "FrameDecoder", ("__init__", "pending_bytes", "feed")),
    ApiPart("chatlib.app.client.server_link", "ServerLink", ("__init__", "receive")),
)


@dataclass(frozen=True)
class Exercise:
    """One file of mycode/: `mycode/<name>.py`, made from our module `reference`, checked by `step`.

    With `api`, the file is made of those parts' signatures and docstrings instead (the protocol).
    """

    name: str
    reference: str
    step: str | None  # None: given code the student runs but does not write
    api: tuple[ApiPart, ...] = ()

    @property
    def module(self) -> str:
        """The module's name when imported: `mycode.ii_4_server`."""
        return f"mycode.{self.name}"

    @property
    def path(self) -> str:
        """Where the file is, from the course's folder: `mycode/ii_4_server.py`."""
        return f"mycode/{self.name}.py"

    @property
    def written_by_student(self) -> bool:
        """Whether the student writes this file's functions (else it is given whole)."""
        return self.step is not None


EXERCISES: tuple[Exercise, ...] = (
    Exercise("sleep_sync", "chatlib.first_steps.sleep_and_print", "sleep_sync"),
    Exercise("sleep_async", "chatlib.first_steps.sleep_and_print_async", "sleep_async"),
    Exercise("web_sync", "chatlib.first_steps.web_sync", "web_sync"),
    Exercise("web_async", "chatlib.first_steps.web_async", "web_async"),
    Exercise("web_sync_multiple", "chatlib.first_steps.web_sync_multiple", "web_sync_multiple"),
    Exercise("web_async_multiple", "chatlib.first_steps.web_async_multiple", "web_async_multiple"),
    Exercise("measure", "chatlib.first_steps.measure", None),
    *(
        Exercise(f"{stage}_{side}", f"chatlib.stages.{stage}.{side}", stage)
        for stage in STAGES
        for side in ("server", "client")
    ),
    Exercise("protocol", "chatlib.app.protocol", "protocol", api=PROTOCOL_API),
)

STEPS: tuple[str, ...] = tuple(dict.fromkeys(e.step for e in EXERCISES if e.step is not None))
"""The steps students write, in the course's order."""


def exercise(name: str) -> Exercise:
    """The exercise whose file is `mycode/<name>.py`; KeyError if there is none."""
    for candidate in EXERCISES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def exercises_of(step: str) -> list[Exercise]:
    """The files a step's student writes: one, or a server and a client."""
    return [candidate for candidate in EXERCISES if candidate.step == step]
