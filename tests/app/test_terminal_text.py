"""printable() shows peers' text safely: escape sequences and controls become visible and inert."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatlib.app.shared.terminal_text import REPLACEMENTS, printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "␛[2J"),
        ("\x1b[31mred\x1b[0m", "␛[31mred␛[0m"),
        ("\x1b]0;pwned\x07", "␛]0;pwned␇"),
        ("\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\", "␛]8;;http://evil/␛\\link␛]8;;␛\\"),
        ("\x9b2J", "\\x9b2J"),
        ("a\x85b", "a\\x85b"),
        ("\x00\x08\x7f", "␀␈␡"),
        ("two\nlines\r\n", "two␊lines␍␊"),
        ("col1\tcol2", "col1    col2"),
        ("\u202eevil\u202c", "\\u202eevil\\u202c"),
        ("\u2066x\u2069", "\\u2066x\\u2069"),
        ("a\u2028b", "a\\u2028b"),
        ("\udcff", "\\udcff"),
    ],
)
def test_dangerous_characters_become_visible(raw: str, shown: str) -> None:
    assert printable(raw) == shown


@pytest.mark.parametrize(
    "text",
    [
        "Héloïse a dit : ça va ?",
        "naïve café déjà vu",
        "日本語のテキスト",
        "👍🎉 👨‍👩‍👧",
        "",
        "a\\x1b is only text",
        "[12:30] <bob>",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert printable(text) == text


@given(st.text())
def test_result_holds_no_control_character_and_is_stable(text: str) -> None:
    shown = printable(text)
    assert not any(unicodedata.category(char) in {"Cc", "Cs", "Zl", "Zp"} for char in shown)
    assert not any(0x202A <= ord(char) <= 0x202E or 0x2066 <= ord(char) <= 0x2069 for char in shown)
    assert printable(shown) == shown


def test_every_replaced_character_is_one_python_calls_unprintable() -> None:
    # printable() returns text unchanged when str.isprintable() holds: that shortcut is only
    # right if no character it would replace counts as printable.
    assert all(not chr(code).isprintable() for code in REPLACEMENTS)
