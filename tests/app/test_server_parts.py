"""The server's small parts on their own: the color palette and pick, name rules, the room registry."""

from __future__ import annotations

import pytest

from chatlib.app.protocol import RoomInfo
from chatlib.app.protocol.names import BadName, clean_name, name_key
from chatlib.app.server.colors import PALETTE, pick_color
from chatlib.app.server.rooms import RoomRegistry


def relative_luminance(color: str) -> float:
    """WCAG relative luminance of a "#rrggbb" color."""
    channels = [int(color[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("color", PALETTE)
def test_every_color_is_readable_on_black_and_on_white(color: str) -> None:
    luminance = relative_luminance(color)
    assert (luminance + 0.05) / 0.05 >= 3.0, "too dark for a dark terminal"
    assert 1.05 / (luminance + 0.05) >= 3.0, "too light for a light terminal"


def test_the_palette_has_distinct_colors() -> None:
    assert len(set(PALETTE)) == len(PALETTE) >= 10


def test_pick_color_chooses_among_the_least_used() -> None:
    offered: list[list[str]] = []

    def first(choices: list[str]) -> str:
        offered.append(list(choices))
        return choices[0]

    palette = ["#000001", "#000002", "#000003"]
    assert pick_color([], first, palette) == "#000001"
    assert pick_color(["#000001", "#000003", "#000001"], first, palette) == "#000002"
    assert pick_color(["#000001", "#000002", "#000003", "#000002"], first, palette) == "#000001"
    assert offered == [["#000001", "#000002", "#000003"], ["#000002"], ["#000001", "#000003"]]


def test_pick_color_ignores_colors_outside_the_palette() -> None:
    assert pick_color(["#123456"], min, palette=["#000001"]) == "#000001"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("bob", "bob"),
        ("  Zoé  ", "Zoé"),
        ("a b", "a b"),
        ("l'a-b", "l'a-b"),
        ("x_1.2", "x_1.2"),
        ("Zoe\u0301", "Zoé"),
    ],
)
def test_clean_name_trims_and_accepts(raw: str, clean: str) -> None:
    assert clean_name(raw, 5, "pseudo") == clean


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "the pseudo is empty"),
        ("\t \n", "the pseudo is empty"),
        ("abcdef", "the pseudo is 6 characters long; the most is 5"),
        ("a\x00b", "the pseudo holds control or invisible characters"),
        ("a\u200bb", "the pseudo holds control or invisible characters"),
        ("a\x9bb", "the pseudo holds control or invisible characters"),
        ("a  b", "the pseudo has two spaces in a row"),
        ("🙂", "the pseudo may hold only letters, digits, spaces and _ - . ' \\(not '🙂'\\)"),
        ("a<b>", "the pseudo may hold only letters, digits, spaces and _ - . ' \\(not '<'\\)"),
    ],
)
def test_clean_name_refuses(raw: str, message: str) -> None:
    with pytest.raises(BadName, match=f"^{message}$"):
        clean_name(raw, 5, "pseudo")


def test_name_key_ignores_case() -> None:
    assert name_key("Bob") == name_key("BOB") == name_key("bob")
    assert name_key("Straße") == name_key("STRASSE")
    assert name_key("Ｂｏｂ") == name_key("bob")


def nowhere(member: str, data: bytes, frames: int) -> None:
    """A room's deliveries, ignored: these tests are about membership only."""


def test_rooms_are_created_found_ignoring_case_and_removed_when_empty() -> None:
    rooms: RoomRegistry[str] = RoomRegistry(nowhere, ["general"])
    jeux = rooms.enter("Jeux", "alice")
    assert rooms.enter("JEUX", "bob") is jeux
    assert jeux.name == "Jeux" and jeux.members == {"alice", "bob"}
    assert rooms.listing() == (RoomInfo("general", 0), RoomInfo("Jeux", 2))
    rooms.leave(jeux, "alice")
    rooms.leave(jeux, "bob")
    assert rooms.listing() == (RoomInfo("general", 0),)
    general = rooms.enter("general", "carol")
    rooms.leave(general, "carol")
    assert rooms.listing() == (RoomInfo("general", 0),), "a permanent room stays"


def test_the_listing_puts_permanent_rooms_first_then_the_busiest() -> None:
    rooms: RoomRegistry[str] = RoomRegistry(nowhere, ["general"])
    rooms.enter("calme", "a")
    for member in "bcd":
        rooms.enter("animé", member)
    rooms.enter("Beta", "e")
    assert [room.name for room in rooms.listing()] == ["general", "animé", "Beta", "calme"]
