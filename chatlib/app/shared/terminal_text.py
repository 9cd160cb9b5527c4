"""Make text from peers safe to show in a terminal or write to a log, one line per message.

A peer can send any character. Written raw, ``ESC [ 2 J`` clears the screen, an OSC sequence
renames the window, a C1 byte starts a sequence on its own, bidi overrides reorder what the
reader sees, and a newline forges a fake line from someone else. ``printable`` turns every
such character into a visible, harmless stand-in, and keeps ordinary Unicode (accents, emoji).
"""

from __future__ import annotations

import re
import unicodedata

# U+2400..U+241F are the "control pictures" for the C0 controls: NUL -> ␀, ESC -> ␛, LF -> ␊...
CONTROL_PICTURES_START = 0x2400
DELETE_PICTURE = "\u2421"  # ␡
TAB_AS_SPACES = "    "

# Bidirectional embeddings, overrides and isolates ("Trojan Source"), and the marks.
BIDI_CONTROLS = frozenset([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C])
# Line and paragraph separators: some terminals and editors break the line on them.
LINE_SEPARATORS = frozenset({0x2028, 0x2029, 0x0085})


def _stand_in(code_point: int) -> str | None:
    """The visible replacement of one dangerous character, or None to keep it as it is."""
    if code_point == 0x09:
        return TAB_AS_SPACES
    if code_point < 0x20:
        return chr(CONTROL_PICTURES_START + code_point)
    if code_point == 0x7F:
        return DELETE_PICTURE
    if 0x80 <= code_point <= 0x9F:
        return f"\\x{code_point:02x}"
    if code_point in BIDI_CONTROLS or code_point in LINE_SEPARATORS:
        return f"\\u{code_point:04x}"
    if unicodedata.category(chr(code_point)) == "Cs":  # a lone surrogate, from surrogateescape
        return f"\\u{code_point:04x}"
    return None


def _build_table() -> dict[int, str]:
    """The ``str.translate`` table of every character ``printable`` replaces."""
    suspects = [*range(0x00, 0xA0), *BIDI_CONTROLS, *LINE_SEPARATORS, *range(0xD800, 0xE000)]
    return {code: stand_in for code in suspects if (stand_in := _stand_in(code)) is not None}


REPLACEMENTS = _build_table()


def printable(text: str) -> str:
    """``text`` with control characters, escape sequences and bidi controls made visible and inert.

    >>> printable("\\x1b[2Jhi\\n")
    '␛[2Jhi␊'

    The result holds no control character, so ``printable(printable(s)) == printable(s)``.
    """
    if text.isprintable():  # the usual case, checked at C speed: nothing to replace
        return text
    return text.translate(REPLACEMENTS)


# "Select Graphic Rendition": ESC [ digits and semicolons m, the codes that only set colors.
COLOR_CODE = re.compile(r"\x1b\[[0-9;]*m")


def without_colors(text: str) -> str:
    """``text`` without its ANSI color codes (other escapes are left for ``printable``)."""
    return COLOR_CODE.sub("", text)


def printable_keeping_colors(text: str) -> str:
    """Like ``printable``, line by line, but ANSI color codes pass: for our own ASCII art only.

    Everything between two color codes is made harmless, so no other escape sequence (cursor
    moves, screen clearing, window titles) can get through, whatever the text holds.
    """
    lines = []
    for line in text.split("\n"):
        pieces = COLOR_CODE.split(line)
        codes = COLOR_CODE.findall(line)
        safe = [printable(piece) + code for piece, code in zip(pieces, [*codes, ""], strict=True)]
        lines.append("".join(safe))
    return "\n".join(lines)
