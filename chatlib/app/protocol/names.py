"""The rules for names people choose (pseudos and room names), shared by the server's checks.

A name is 1 to N characters (24 for a pseudo, 32 for a room) after trimming surrounding spaces,
made of letters and digits of any script (with their accents), the punctuation ``_ - . '``, and
single spaces between words. Nothing else: no control or invisible characters, no symbols or
emoji, nothing a terminal could act on. Two names are the same ignoring case and Unicode width
variants (``Bob``, ``BOB`` and the full-width ``Ｂｏｂ`` clash).
"""

from __future__ import annotations

import unicodedata

from chatlib.app.shared.terminal_text import printable

NAME_PUNCTUATION = frozenset("_-.'")
_WORD_CATEGORIES = ("L", "M", "N")  # letters, combining marks (accents), digits


class BadName(ValueError):
    """A pseudo or room name that cannot be used; the message tells the user why."""


def clean_name(raw: str, max_length: int, what: str) -> str:
    """``raw`` without surrounding spaces, in NFC form, checked against the rules above.

    A checked name is safe to show in any terminal or log as it is.
    """
    name = unicodedata.normalize("NFC", raw.strip())
    if not name:
        raise BadName(f"the {what} is empty")
    if len(name) > max_length:
        raise BadName(f"the {what} is {len(name)} characters long; the most is {max_length}")
    if not name.isprintable():
        raise BadName(f"the {what} holds control or invisible characters")
    if "  " in name:
        raise BadName(f"the {what} has two spaces in a row")
    for character in name:
        if not _allowed(character):
            raise BadName(
                f"the {what} may hold only letters, digits, spaces and _ - . ' (not {printable(character)!r})"
            )
    return name


def _allowed(character: str) -> bool:
    """Whether one character may appear in a name."""
    if character == " " or character in NAME_PUNCTUATION:
        return True
    return unicodedata.category(character).startswith(_WORD_CATEGORIES)


def name_key(name: str) -> str:
    """The form two names are compared in: ``Bob``, ``bob`` and ``Ｂｏｂ`` are the same person."""
    return unicodedata.normalize("NFKC", name).casefold()
