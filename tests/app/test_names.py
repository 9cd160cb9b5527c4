"""Names that look alike on screen: invisible characters, look-alike scripts and confusable skeletons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatlib.app.client.tokens import TokenStore
from chatlib.app.protocol import Error, ErrorCode, Hello, Welcome
from chatlib.app.protocol.names import BadName, clean_name, look_key, name_key
from chatlib.app.server.users import KnownUsers
from tests.app.conftest import ClientFactory

INVISIBLE = "the pseudo holds control or invisible characters"

# Each is invisible on screen, and was once accepted after a pseudo in use.
INVISIBLE_TAILS = {
    "VARIATION SELECTOR-16": "\ufe0f",
    "COMBINING GRAPHEME JOINER": "\u034f",
    "MONGOLIAN FREE VARIATION SELECTOR ONE": "\u180b",
    "KHMER VOWEL INHERENT AQ": "\u17b4",
    "VARIATION SELECTOR-17": "\U000e0100",
}


@pytest.mark.parametrize("tail", INVISIBLE_TAILS.values(), ids=INVISIBLE_TAILS.keys())
def test_a_default_ignorable_character_is_refused(tail: str) -> None:
    with pytest.raises(BadName, match=f"^{INVISIBLE}$"):
        clean_name("viewer" + tail, 24, "pseudo")


def test_a_pseudo_of_hangul_fillers_is_refused() -> None:
    for filler in ("\u3164", "\u3164" * 3, "a\u3164b"):
        with pytest.raises(BadName, match=f"^{INVISIBLE}$"):
            clean_name(filler, 24, "pseudo")


@pytest.mark.parametrize(
    ("name", "scripts"),
    [
        ("v\u0456ewer", "Cyrillic and Latin"),  # a Cyrillic і
        ("p\u0430ypal", "Cyrillic and Latin"),  # a Cyrillic а
        ("\u03bfk", "Greek and Latin"),  # a Greek ο
        ("Ivan \u0418\u0432\u0430\u043d", "Cyrillic and Latin"),
    ],
)
def test_a_name_mixing_scripts_is_refused(name: str, scripts: str) -> None:
    with pytest.raises(BadName, match=f"^the room name mixes the {scripts} scripts; write it in one script$"):
        clean_name(name, 32, "room name")


@pytest.mark.parametrize(
    "name",
    [
        "Zoé",
        "Москва",
        "Ελένη",
        "日本語テスト",
        "ひらがな漢字 abc",
        "한국어",
        "שלום",
        "jean-luc",
        "l'équipe 2",
    ],
)
def test_names_in_one_script_are_accepted(name: str) -> None:
    assert clean_name(name, 32, "room name") == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ﬁsh", "the pseudo holds 'ﬁ', a variant of other characters: type the plain ones"),
        ("𝐛ob", "the pseudo holds '𝐛', a variant of other characters: type the plain ones"),
        ("Ⅷ", "the pseudo holds 'Ⅷ', a variant of other characters: type the plain ones"),
        ("2שלום", "the pseudo mixes right-to-left and left-to-right text ambiguously"),
    ],
)
def test_compatibility_variants_and_ambiguous_directions_are_refused(name: str, message: str) -> None:
    with pytest.raises(BadName, match=f"^{message}$"):
        clean_name(name, 24, "pseudo")


def test_full_width_letters_are_made_plain() -> None:
    assert clean_name("Ｂｏｂ", 24, "pseudo") == "Bob"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("viewer", "v\u0456ewer"),  # Cyrillic і, lower case
        ("paypal", "\u0440\u0430\u0443\u0440\u0430l"),  # Cyrillic р, а, у
        ("scope", "\u0455\u0441\u043e\u0440\u0435"),  # all Cyrillic
        ("modern", "rnodern"),
        ("Bob", "BOB"),
        ("Straße", "STRASSE"),
        ("Ｂｏｂ", "bob"),
    ],
)
def test_names_that_look_alike_have_one_name_key(one: str, other: str) -> None:
    assert name_key(one) == name_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [("Alice", "AIice"), ("BOB", "\u0412\u041e\u0412"), ("COOL", "C00L"), ("bill", "BILL")],
)
def test_capitals_that_look_alike_share_a_key(one: str, other: str) -> None:
    assert name_key(one) == name_key(other) or look_key(one) == look_key(other)


@pytest.mark.parametrize(
    ("one", "other"), [("ali", "all"), ("bob", "rob"), ("anna", "anne"), ("léa", "lea")]
)
def test_names_that_differ_keep_apart(one: str, other: str) -> None:
    assert name_key(one) != name_key(other)
    assert look_key(one) != look_key(other)


def test_a_known_user_is_found_by_a_look_alike() -> None:
    users = KnownUsers()
    alice, _ = users.register("Alice", "#1f77b4", 0)
    scope, _ = users.register("scope", "#1f77b4", 0)
    assert users.find("AIice") is alice
    assert users.find("ALICE") is alice
    assert users.find("\u0455\u0441\u043e\u0440\u0435") is scope
    assert users.find("ali") is None


def test_a_users_file_of_older_rules_loads_and_the_first_owner_keeps_a_look_alike() -> None:
    record = {"color": "#1f77b4", "token_sha256": "0" * 64, "first_seen_ms": 1}
    users = KnownUsers.from_records(
        [
            {**record, "user_id": "1" * 16, "pseudo": "viewer"},
            {**record, "user_id": "2" * 16, "pseudo": "v\u0456ewer"},  # accepted by the old rules
            {**record, "user_id": "3" * 16, "pseudo": "mallory"},
        ]
    )
    assert len(users) == 2
    viewer, mallory = users.find("viewer"), users.find("MALLORY")
    assert viewer is not None and viewer.user_id == "1" * 16
    assert mallory is not None and mallory.user_id == "3" * 16


def test_a_tokens_file_keyed_the_old_way_still_finds_its_tokens(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"127.0.0.1:8888": {"mallory": "t" * 32}}), encoding="utf-8")
    store = TokenStore(path)
    assert store.token_for("127.0.0.1", 8888, "Mallory") == "t" * 32
    store.remember("127.0.0.1", 8888, "bob", "b" * 32)
    assert store.token_for("127.0.0.1", 8888, "mallory") == "t" * 32


async def test_an_invisible_twin_of_a_connected_pseudo_is_refused(connect: ClientFactory) -> None:
    await connect("viewer", "general")
    for tail in INVISIBLE_TAILS.values():
        twin = await connect()
        await twin.send(Hello("viewer" + tail))
        assert await twin.next_frame() == Error(ErrorCode.BAD_PSEUDO, INVISIBLE)
    filler = await connect()
    await filler.send(Hello("\u3164"))
    assert await filler.next_frame() == Error(ErrorCode.BAD_PSEUDO, INVISIBLE)


async def test_a_look_alike_of_a_pseudo_is_taken(connect: ClientFactory) -> None:
    await connect("viewer", "general")
    await connect("Alice", "general")
    cyrillic = await connect()
    await cyrillic.send(Hello("v\u0456ewer"))
    assert await cyrillic.next_frame() == Error(
        ErrorCode.BAD_PSEUDO, "the pseudo mixes the Cyrillic and Latin scripts; write it in one script"
    )
    for look_alike in ("VIEWER", "AIice"):
        await cyrillic.send(Hello(look_alike))
        refusal = await cyrillic.next_frame()
        assert refusal == Error(ErrorCode.PSEUDO_TAKEN, f"the pseudo {look_alike} is already in use")
    welcome = await cyrillic.hello("viewer2")
    assert isinstance(welcome, Welcome) and welcome.pseudo == "viewer2"
