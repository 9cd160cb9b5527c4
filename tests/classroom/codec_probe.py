"""Does any code here encode or decode the protocol's frames? Run as a script, under the Python
path to probe (a student edition's, or the course's):

    python codec_probe.py SPEC.json RESULT.json

SPEC names the modules to probe (`walk`: every module of these packages; `modules`: these) and
frames nobody has laid out before: each as its constructor's arguments, with its side and its
bytes on the wire (computed by whoever wrote SPEC). The probe imports each module, and calls each
of its functions, classes and their instances' methods the way an encoder is called (with a
frame) and the way a decoder is (with the frame's bytes, alone or with its side). It writes to
RESULT every callable that gave back the frame's bytes or its payload's (whole, field by field, or
as hex: it encodes) or, from the bytes, the frame (it decodes), and every module that did not import.

Each call runs in a thread of its own and is given up after CALL_SECONDS; whatever a call
prints goes nowhere, and the script ends with os._exit so that a call left running cannot keep it.
"""

from __future__ import annotations

import contextlib
import enum
import importlib
import inspect
import io
import itertools
import json
import os
import pkgutil
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

CALL_SECONDS = 2.0
ITEMS_LOOKED_AT = 64
DEPTH = 3


def module_names(spec: dict[str, Any]) -> list[str]:
    """The modules to probe: `modules`, and every module of the packages in `walk`."""
    names = list(spec.get("modules", []))
    for package_name in spec.get("walk", []):
        package = importlib.import_module(package_name)
        names.append(package_name)
        names += [info.name for info in pkgutil.walk_packages(package.__path__, f"{package_name}.")]
    return names


def pieces(value: Any, depth: int = 0) -> Iterator[Any]:
    """The value, and what it holds: items of containers and iterators, attributes of objects."""
    yield value
    if depth >= DEPTH or isinstance(value, (str, bytes, bytearray, memoryview, int, float)):
        return
    if isinstance(value, dict):
        items: list[Any] = list(itertools.islice(value.values(), ITEMS_LOOKED_AT))
    elif isinstance(value, (list, tuple, set, frozenset)) or inspect.isgenerator(value):
        items = list(itertools.islice(value, ITEMS_LOOKED_AT))
    elif hasattr(value, "__dict__") and not callable(value) and not isinstance(value, ModuleType):
        items = list(vars(value).values())[:ITEMS_LOOKED_AT]
    else:
        return
    for item in items:
        yield from pieces(item, depth + 1)


def equal(piece: Any, frame: Any) -> bool:
    """Whether a piece of a result is the frame (an object whose == raises is not)."""
    try:
        return bool(piece == frame)
    except Exception:  # noqa: BLE001
        return False


def encodes(found: list[Any], wire: bytes) -> bool:
    """Whether a result, called with a frame, holds its bytes or its payload's (whole, field by
    field, or as hex)."""
    payload = wire[3:]  # the probe's frames are small: one length byte
    blobs = [bytes(piece) for piece in found if isinstance(piece, (bytes, bytearray, memoryview))]
    texts = [piece for piece in found if isinstance(piece, str)]
    joined = b"".join(blobs)
    return (
        any(blob in (wire, payload) for blob in blobs)
        or joined in (wire, payload)
        or any(text in (wire.hex(), payload.hex()) for text in texts)
    )


def call_briefly(function: Callable[..., Any], arguments: tuple[Any, ...]) -> tuple[bool, list[Any]]:
    """Call `function(*arguments)` in a thread, for at most CALL_SECONDS: whether it finished without
    raising, and the pieces of its result (`pieces`; the first is the result itself)."""
    outcome: list[list[Any]] = []

    def run() -> None:
        try:
            outcome.append(list(pieces(function(*arguments))))  # a lazy result runs here, in this thread
        except BaseException:  # noqa: BLE001 (anything, sys.exit() included, means "not this one")
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(CALL_SECONDS)
    return bool(outcome), outcome[0] if outcome else []


def callables_of(module: Any) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The functions and classes a module defines itself (private ones too), by qualified name."""
    for name, value in sorted(vars(module).items()):
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value) and not inspect.iscoroutinefunction(value):
            yield f"{module.__name__}.{name}", value
        elif inspect.isclass(value) and not issubclass(value, (BaseException, enum.Enum)):
            yield f"{module.__name__}.{name}", value


def instances_of(cls: type, sides: list[str]) -> Iterator[Any]:
    """Instances of `cls` made the ways a decoder or an encoder is made: no arguments, or a side."""
    for arguments in [(), *((side,) for side in sides)]:
        finished, found = call_briefly(cls, arguments)
        if finished:
            yield found[0]


def methods_of(instance: Any) -> Iterator[tuple[str, Callable[..., Any]]]:
    """An instance's methods that are not Python's own (`__init__`...), private ones included."""
    for name in dir(type(instance)):
        if name.startswith("__"):
            continue
        method = getattr(instance, name, None)
        if callable(method) and not inspect.iscoroutinefunction(method) and not inspect.isclass(method):
            yield name, method


def probe(spec: dict[str, Any]) -> dict[str, Any]:
    """Every callable of the modules that encodes or decodes one of the spec's frames."""
    frames_module = importlib.import_module(spec["frames_module"])
    frames = []
    for given in spec["frames"]:
        frame = getattr(frames_module, given["type"])(*given["arguments"])
        frames.append((frame, given["side"], bytes.fromhex(given["wire"])))
    sides = sorted({side for _, side, _ in frames})
    findings: set[str] = set()
    failed_imports: dict[str, str] = {}
    probed: list[str] = []

    def try_all(name: str, function: Callable[..., Any]) -> None:
        for frame, side, wire in frames:
            finished, found = call_briefly(function, (frame,))
            if finished and encodes(found, wire):
                findings.add(f"{name} encodes")
            for arguments in ((wire,), (side, wire), (wire, side)):
                finished, found = call_briefly(function, arguments)
                if finished and any(equal(piece, frame) for piece in found):
                    findings.add(f"{name} decodes")

    for module_name in module_names(spec):
        try:
            module = importlib.import_module(module_name)
        except BaseException as error:  # noqa: BLE001
            failed_imports[module_name] = f"{type(error).__name__}: {error}"
            continue
        for name, value in callables_of(module):
            probed.append(name)
            try_all(name, value)
            if inspect.isclass(value):
                for instance in instances_of(value, sides):
                    for method_name, method in methods_of(instance):
                        try_all(f"{name}.{method_name}", method)
    return {"findings": sorted(findings), "failed_imports": failed_imports, "probed": probed}


def main() -> None:
    """Read the spec, probe, write the result, and end at once."""
    spec_file, result_file = sys.argv[1:3]
    with open(spec_file, encoding="utf-8") as file:
        spec = json.load(file)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        result = probe(spec)
    result["chatlib"] = importlib.import_module("chatlib").__file__
    with open(result_file, "w", encoding="utf-8") as file:
        json.dump(result, file)
    os._exit(0)


if __name__ == "__main__":
    main()
