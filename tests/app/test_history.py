"""History entries, the HISTORY payload's JSON, and the per-room bounded record (no sockets)."""

from __future__ import annotations

import json

import pytest

from chatlib.app.protocol.history import (
    BadHistory,
    HistoryEntry,
    ImageFacts,
    RoomHistory,
    history_payload,
    parse_history,
)
from chatlib.app.server.history import ChatHistory

MESSAGE = HistoryEntry.message(1_700_000_000_000, "bob", "#1f77b4", "salut")
ANNOUNCE = HistoryEntry.announcement(1_700_000_001_000, "Annonce : bob a rejoint la chatroom")
IMAGE = HistoryEntry.image_sent(1_700_000_002_000, "alice", "#d62728", ImageFacts("PNG", 96, 64, 735))


def test_entries_have_the_documented_json_form() -> None:
    assert MESSAGE.to_json() == {
        "kind": "message",
        "time_ms": 1_700_000_000_000,
        "pseudo": "bob",
        "color": "#1f77b4",
        "text": "salut",
    }
    assert ANNOUNCE.to_json() == {
        "kind": "announce",
        "time_ms": 1_700_000_001_000,
        "text": "Annonce : bob a rejoint la chatroom",
    }
    assert IMAGE.to_json() == {
        "kind": "image",
        "time_ms": 1_700_000_002_000,
        "pseudo": "alice",
        "color": "#d62728",
        "text": "[image PNG 96×64]",
        "format": "PNG",
        "width": 96,
        "height": 64,
        "bytes": 735,
    }


def test_a_payload_decodes_to_the_same_entries() -> None:
    payload = history_payload("jeux", [MESSAGE, ANNOUNCE, IMAGE])
    assert json.loads(payload)["room"] == "jeux"
    assert parse_history(payload) == RoomHistory("jeux", (MESSAGE, ANNOUNCE, IMAGE))
    assert parse_history(history_payload("vide", [])) == RoomHistory("vide", ())


def test_the_oldest_entries_are_left_out_when_the_payload_would_be_too_long() -> None:
    entries = [HistoryEntry.message(n, "bob", "#1f77b4", f"message {n:03} " + "é" * 40) for n in range(100)]
    payload = history_payload("jeux", entries, max_bytes=2000)
    assert len(payload.encode("utf-8")) <= 2000
    kept = parse_history(payload).entries
    assert 10 < len(kept) < 100
    assert kept == tuple(entries[-len(kept) :])
    one_more = history_payload("jeux", entries[-len(kept) - 1 :], max_bytes=10**6)
    assert len(one_more.encode("utf-8")) > 2000


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ("not json", "the history is not valid JSON"),
        ("[]", "the history is not a JSON object"),
        ('{"room": "jeux"}', "the history needs a 'room' string and an 'entries' list"),
        ('{"room": "jeux", "entries": [1]}', "an entry is not a JSON object"),
        (
            '{"room": "j", "entries": [{"kind": "video", "time_ms": 1, "text": ""}]}',
            "unknown entry kind 'video'",
        ),
        (
            '{"room": "j", "entries": [{"kind": "announce", "time_ms": true, "text": ""}]}',
            "field 'time_ms' is missing or not a int",
        ),
        (
            '{"room": "j", "entries": [{"kind": "announce", "time_ms": -5, "text": ""}]}',
            "field 'time_ms' is negative",
        ),
        (
            '{"room": "j", "entries": [{"kind": "message", "time_ms": 1, "text": "x", "pseudo": "b", '
            '"color": "red"}]}',
            "color 'red' is not #rrggbb",
        ),
        (
            '{"room": "j", "entries": [{"kind": "image", "time_ms": 1, "text": "x", "pseudo": "b", '
            '"color": "#000000", "format": "PNG"}]}',
            "field 'width' is missing or not a int",
        ),
    ],
)
def test_a_malformed_payload_is_refused_with_a_reason(payload: str, problem: str) -> None:
    with pytest.raises(BadHistory) as refusal:
        parse_history(payload)
    assert str(refusal.value).startswith(problem)


def test_each_room_keeps_its_last_entries_whatever_the_case_of_its_name() -> None:
    history = ChatHistory(length=3)
    for n in range(5):
        history.record("Jeux", HistoryEntry.message(n, "bob", "#1f77b4", f"m{n}"))
    history.record("general", ANNOUNCE)
    assert [entry.text for entry in history.recent("jeux")] == ["m2", "m3", "m4"]
    assert history.recent("GENERAL") == [ANNOUNCE]
    assert history.recent("nowhere") == []


def test_loading_records_skips_the_bad_ones() -> None:
    history = ChatHistory(length=10)
    records = [
        {"room": "jeux"} | MESSAGE.to_json(),
        {"kind": "message"},
        {"room": 3} | ANNOUNCE.to_json(),
        {"room": "jeux"} | IMAGE.to_json(),
    ]
    assert history.load(records) == 2
    assert history.recent("jeux") == [MESSAGE, IMAGE]


def test_a_negative_length_is_refused() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        ChatHistory(length=-1)
