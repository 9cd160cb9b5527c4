"""The rules for names people choose (pseudos and room names), shared by the server's checks.

A name is 1 to N characters (24 for a pseudo, 32 for a room) after trimming surrounding spaces,
made of letters and digits of any script (with their accents), the punctuation ``_ - . '``, and
single spaces between words. Nothing else: no control characters, no symbols or emoji, nothing a
terminal could act on.

Two people must never look the same on screen, so three Unicode security mechanisms apply:

- each word follows the PRECIS identifier profile (RFC 8265 ``UsernameCasePreserved``, from
  precis-i18n): no invisible characters (default-ignorable code points: variation selectors, the
  Hangul filler, joiners outside the scripts that need them), no compatibility variants (``ﬁ``,
  ``𝐚``, ``Ⅷ``; full-width letters become plain ones), right-to-left words that display one way;
- a name is written in one script (UTS #39 "highly restrictive"): ``vіewer`` with a Cyrillic
  ``і`` is refused; Japanese may mix Han, Hiragana and Katakana, Chinese Han and Bopomofo,
  Korean Han and Hangul, each with Latin;
- names are compared by their confusable *skeleton* (UTS #39, ``name_key`` and ``look_key``):
  ``Bob``, ``BOB`` and ``Ｂｏｂ`` are one name, and so are ``paypal`` and a Cyrillic ``раураl``,
  ``AIice`` (with a capital i) and ``Alice``, ``rn`` and ``m``.
"""

from __future__ import annotations

import bisect
import functools
import json
import unicodedata
from importlib import resources
from typing import Any

from precis_i18n import get_profile

from chatlib.app.shared.terminal_text import printable

NAME_PUNCTUATION = frozenset("_-.'")
_WORD_CATEGORIES = ("L", "M", "N")  # letters, combining marks (accents), digits
_IDENTIFIER_PROFILE = get_profile("UsernameCasePreserved")

# Scripts every name may use alongside its own (UTS #39 Script_Extensions "Common" and "Inherited").
_ANY_SCRIPT = frozenset({"COMMON", "INHERITED"})
# The script mixes UTS #39 allows at its "highly restrictive" level, beside a single script.
_SCRIPT_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),  # Japanese
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),  # Chinese
    frozenset({"LATIN", "HAN", "HANGUL"}),  # Korean
)
# Unicode's data as confusable_homoglyphs ships it, read here directly: its own modules would
# import urllib on the way (several MiB in every process that checks a name).
_UNICODE_DATA = resources.files("confusable_homoglyphs")
# Marks that confusable_homoglyphs kept around right-to-left characters in its data.
_DIRECTION_MARKS = str.maketrans("", "", "\u200e\u200f")


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
    name = " ".join(_identifier_word(word, what) for word in name.split(" "))
    scripts = _scripts(name)
    if len(scripts) > 1 and not any(scripts <= mix for mix in _SCRIPT_MIXES):
        listed = " and ".join(sorted(script.title() for script in scripts))
        raise BadName(f"the {what} mixes the {listed} scripts; write it in one script")
    return name


def _allowed(character: str) -> bool:
    """Whether one character may appear in a name."""
    if character == " " or character in NAME_PUNCTUATION:
        return True
    return unicodedata.category(character).startswith(_WORD_CATEGORIES)


def _identifier_word(word: str, what: str) -> str:
    """One word of a name through the PRECIS identifier profile (full-width letters made plain)."""
    try:
        return _IDENTIFIER_PROFILE.enforce(word)
    except UnicodeEncodeError as refusal:
        character = printable(refusal.object[refusal.start : refusal.end])
        kind = refusal.reason.removeprefix("DISALLOWED/")
        if kind in ("precis_ignorable_properties", "zero_width_joiner", "zero_width_nonjoiner", "controls"):
            raise BadName(f"the {what} holds control or invisible characters") from None
        if kind == "has_compat":
            raise BadName(
                f"the {what} holds {character!r}, a variant of other characters: type the plain ones"
            ) from None
        if kind == "bidi_rule":
            raise BadName(f"the {what} mixes right-to-left and left-to-right text ambiguously") from None
        raise BadName(f"the {what} may not hold {character!r} ({kind.replace('_', ' ')})") from None


def _scripts(name: str) -> frozenset[str]:
    """The scripts a name is written in, apart from characters shared by all (digits, punctuation)."""
    starts, ranges, aliases = _script_table()
    found = set()
    for character in name:
        point = ord(character)
        index = bisect.bisect_right(starts, point) - 1
        if index >= 0 and point <= ranges[index][1]:
            found.add(aliases[ranges[index][2]])
        else:
            found.add("UNKNOWN")
    return frozenset(found - _ANY_SCRIPT)


@functools.cache
def _script_table() -> tuple[list[int], list[list[int]], list[str]]:
    """Unicode's Scripts.txt as confusable_homoglyphs ships it, ready for a binary search."""
    scripts = json.loads(_UNICODE_DATA.joinpath("categories.json").read_bytes())
    ranges = scripts["code_points_ranges"]  # [first, last, script, category], sorted
    return [first for first, *_ in ranges], ranges, scripts["iso_15924_aliases"]


def name_key(name: str) -> str:
    """The form two names are compared in: ``Bob``, ``bob`` and ``Ｂｏｂ`` are the same person.

    It is the UTS #39 skeleton of the case-folded name, so lower-case look-alikes share it too:
    ``раураl`` (Cyrillic) and ``paypal``, ``rn`` and ``m``. Capitals that look like other
    letters are ``look_key``'s: a name is taken when either key is.
    """
    return _folded_skeleton(unicodedata.normalize("NFKC", name).casefold())


def look_key(name: str) -> str:
    """The case-folded skeleton of the name as written: ``AIice`` (with a capital i) and ``Alice``,
    or Cyrillic ``ВОВ`` and Latin ``BOB``, share it, which ``name_key`` (folding case first) misses.

    Two keys, because no single one can do both: ``ali`` and ``all`` differ, yet ``ALI`` looks
    like ``ALl``, which is ``all`` in capitals.
    """
    return _folded_skeleton(unicodedata.normalize("NFKC", name))


def _folded_skeleton(text: str) -> str:
    """Skeleton, then case folding, until the text stops changing (``0`` looks like ``O``, a capital)."""
    for _ in range(4):  # every character settles within three rounds
        folded = skeleton(text).casefold()
        if folded == text:
            break
        text = folded
    return text


def skeleton(text: str) -> str:
    """The UTS #39 skeleton: each character replaced by the prototype it may be confused with."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFD", "".join(prototypes.get(character, character) for character in decomposed)
    )


@functools.cache
def _prototypes() -> dict[str, str]:
    """Unicode's confusables.txt as a map from each confusable character to its prototype.

    confusable_homoglyphs ships confusables.txt (each line: a character, then the prototype it
    looks like) as pairs kept both ways, so each prototype is the centre of a star: its
    neighbours are the characters that look like it, each of which has it as its only
    neighbour. A prototype may be several characters (``m`` looks like ``rn``). Where two single
    characters only look like each other, either could be the prototype: the lower one is.
    """
    pairs = json.loads(
        _UNICODE_DATA.joinpath("confusables.json").read_bytes(), object_pairs_hook=_look_alike_only
    )
    neighbours: dict[str, list[str]] = {}
    for character, look_alikes in pairs.items():
        neighbours[character.translate(_DIRECTION_MARKS)] = [
            look_alike.translate(_DIRECTION_MARKS) for look_alike in look_alikes
        ]
    del pairs
    prototypes: dict[str, str] = {}
    for character, around in neighbours.items():
        if len(character) != 1 or len(around) != 1:
            continue  # a prototype: the centre of its star
        prototype = around[0]
        if len(prototype) == 1 and len(neighbours[prototype]) == 1 and prototype > character:
            continue  # a pair that only look like each other: this one, the lower, is the prototype
        prototypes[character] = prototype
    return prototypes


def _look_alike_only(pairs: list[tuple[str, Any]]) -> Any:
    """Each ``{"c": look-alike, "n": its name}`` of the data read as the look-alike alone (names
    take most of the file's memory); any other object as a dict."""
    if len(pairs) == 2 and pairs[0][0] == "c" and pairs[1][0] == "n":
        return pairs[0][1]
    return dict(pairs)
