"""How a report shows a frame: its documented fields beside the bytes that arrived, the first
difference marked and explained, and frames as Python writes them, cut short.

The documented fields themselves come from `chatlib.checks.vectors` (`frame_fields`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from chatlib.checks.vectors import Field

NUMBER_FIELDS = ("length", "time", "count", "members", "code", "flags")
"""Fields holding a big-endian number (their names start with one of these)."""
SHOWN_BYTES = 8
STRUCT_CODES = {2: "H", 4: "I", 8: "Q"}
"""struct's format code for an unsigned number of 2, 4 or 8 bytes."""


def hex_bytes(data: bytes, limit: int = SHOWN_BYTES) -> str:
    """`01 90`, cut after `limit` bytes with how many there are in all."""
    shown = " ".join(f"{byte:02x}" for byte in data[:limit])
    if len(data) > limit:
        shown += f" ... ({len(data)} bytes)"
    return shown or "(none)"


def field_table(fields: list[Field], arrived: bytes) -> tuple[list[str], str | None, bytes, bytes]:
    """The expected fields beside the bytes that arrived in their place, the first difference marked.

    Returns the table's lines, the name of the first field that differs (None if none), and that
    field's expected and arrived bytes.
    """
    name_width = max(len(name) for name, _ in fields)
    lines = [f"  {'field':<{name_width}}  {'expected':<40}  arrived"]
    offset = 0
    first: tuple[str, bytes, bytes] | None = None
    for name, expected in fields:
        got = arrived[offset : offset + len(expected)]
        marker = " "
        if got != expected and first is None:
            first = (name, expected, got)
            marker = ">"
        lines.append(f"{marker} {name:<{name_width}}  {hex_bytes(expected):<40}  {hex_bytes(got)}")
        offset += len(expected)
    if len(arrived) > offset:
        extra = arrived[offset:]
        if first is None:
            first = ("(after the frame)", b"", extra)
        lines.append(
            f"{'>' if first[0] == '(after the frame)' else ' '} {'(more)':<{name_width}}  "
            f"{'(nothing)':<40}  {hex_bytes(extra)}"
        )
    if first is None:
        return lines, None, b"", b""
    return lines, first[0], first[1], first[2]


def difference_hint(field: str, expected: bytes, arrived: bytes) -> str:
    """Why one field's bytes are likely wrong."""
    if field.startswith(NUMBER_FIELDS) and len(expected) > 1 and arrived == expected[::-1]:
        code = STRUCT_CODES.get(len(expected), "H")
        return (
            "numbers on the wire are big-endian (most significant byte first): "
            f"n.to_bytes({len(expected)}, 'big'), or struct.pack('>{code}', n)"
        )
    if field == "width":
        return "the length's width is the smallest that fits: 1 byte below 256, 2 below 65 536, else 4"
    if field == "type":
        return f"the type byte of this frame is 0x{expected[0]:02x} (docs/PROTOCOL.md's tables)"
    if field.endswith("length") and len(expected) == 1:
        return "a str8 starts with the length in bytes of its UTF-8 text, not in characters"
    if field == "(after the frame)":
        return "the frame has bytes too many at its end"
    if len(arrived) < len(expected):
        return "the frame stops short: every field of docs/PROTOCOL.md must be there"
    return "text is UTF-8, and every field is in the order docs/PROTOCOL.md gives"


def describe_frame(frame: Any) -> str:
    """A frame as Python writes it, long texts and data cut short."""
    if not dataclasses.is_dataclass(frame):
        return repr(frame) if not isinstance(frame, str) else frame
    values = [f"{field.name}={_short(getattr(frame, field.name))}" for field in dataclasses.fields(frame)]
    return f"{type(frame).__name__}({', '.join(values)})"


def _short(value: Any) -> str:
    shown = repr(value)
    return (
        shown if len(shown) <= 48 else f"{shown[:40]}...({len(value) if hasattr(value, '__len__') else '?'})"
    )


def byte_order_note(expected: Any, arrived: Any) -> str:
    """A note when `arrived` is the number `expected` with its bytes the wrong way round."""
    if not isinstance(expected, int) or not isinstance(arrived, int) or isinstance(expected, bool):
        return ""
    for size in (2, 4, 8):
        if (
            0 <= expected < 256**size
            and int.from_bytes(expected.to_bytes(size, "big"), "little") == arrived
        ):
            return f": its {size} bytes were read little-endian, and numbers on the wire are big-endian"
    return ""


def frame_difference(expected: Any, arrived: Any) -> tuple[list[str], str]:
    """Two frames field by field, the first difference marked, and what differs in one line."""
    if type(expected) is not type(arrived):
        return [f"  expected {describe_frame(expected)}", f"> arrived  {describe_frame(arrived)}"], (
            f"a {type(arrived).__name__} where a {type(expected).__name__} was expected"
        )
    lines = [f"  {type(expected).__name__}"]
    summary = ""
    for field in dataclasses.fields(expected):
        want, got = getattr(expected, field.name), getattr(arrived, field.name)
        marker = " "
        if want != got and not summary:
            marker, summary = ">", f"{field.name} differs" + byte_order_note(want, got)
        lines.append(f"{marker}   {field.name}: expected {_short(want)}, arrived {_short(got)}")
    return lines, summary
