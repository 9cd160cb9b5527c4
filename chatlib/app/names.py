"""The rules for names people choose (pseudos and room names), shared by the server's checks."""

from __future__ import annotations


class BadName(ValueError):
    """A pseudo or room name that cannot be used; the message tells the user why."""


def clean_name(raw: str, max_length: int, what: str) -> str:
    """``raw`` without surrounding spaces, checked to be 1 to ``max_length`` printable characters.

    Printable excludes control characters, escape sequences and bidi overrides, so a checked name
    is safe to show in any terminal or log as it is.
    """
    name = raw.strip()
    if not name:
        raise BadName(f"the {what} is empty")
    if len(name) > max_length:
        raise BadName(f"the {what} is {len(name)} characters long; the most is {max_length}")
    if not name.isprintable():
        raise BadName(f"the {what} holds control or invisible characters")
    return name


def name_key(name: str) -> str:
    """The form two names are compared in: ``Bob`` and ``bob`` are the same person."""
    return name.casefold()
