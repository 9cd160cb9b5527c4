"""Known users and their tokens (no sockets): registering, recognising, refusing, reloading."""

from __future__ import annotations

import re

import pytest

from chatlib.app.server.users import KnownUser, KnownUsers, Verdict, hash_token


def test_a_new_user_gets_an_id_and_a_token_that_is_kept_only_as_a_hash() -> None:
    users = KnownUsers()
    alice, token = users.register("Alice", "#d62728", 1_700_000_000_000)
    assert re.fullmatch(r"[0-9a-f]{16}", alice.user_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)
    assert alice.token_hash == hash_token(token) != token
    assert token not in str(alice.to_record()) and token not in repr(alice)
    other, other_token = users.register("bob", "#1f77b4", 0)
    assert other.user_id != alice.user_id and other_token != token


def test_verdicts_for_each_kind_of_hello() -> None:
    users = KnownUsers()
    alice, token = users.register("alice", "#d62728", 0)
    assert users.judge("carol", "") == (Verdict.NEW, None)
    assert users.judge("carol", token) == (Verdict.NEW, None)  # a token is someone's, not a pseudo's pass
    assert users.judge("ALICE", token) == (Verdict.RETURNING, alice)
    assert users.judge("alice", "") == (Verdict.TOKEN_MISSING, alice)
    assert users.judge("alice", token[:-1] + "x") == (Verdict.TOKEN_WRONG, alice)
    alice.connected = True
    assert users.judge("alice", token) == (Verdict.IN_USE, alice)
    assert users.judge("alice", "") == (Verdict.IN_USE, alice)


def test_a_known_pseudo_cannot_be_registered_twice() -> None:
    users = KnownUsers()
    users.register("alice", "#d62728", 0)
    with pytest.raises(ValueError, match="already known"):
        users.register("Alice", "#1f77b4", 0)


def test_users_come_back_from_their_records_and_bad_records_are_skipped() -> None:
    users = KnownUsers()
    alice, token = users.register("alice", "#d62728", 5)
    alice.connected = True
    records = [alice.to_record(), {"pseudo": "no id"}, dict(alice.to_record(), user_id="impostor")]
    reloaded = KnownUsers.from_records(records)
    assert len(reloaded) == 1
    again = reloaded.find("alice")
    assert again == KnownUser(alice.user_id, "alice", "#d62728", alice.token_hash, 5, connected=False)
    assert again.token_matches(token) and not again.token_matches("")


def test_only_connected_users_count_for_colors() -> None:
    users = KnownUsers()
    alice, _ = users.register("alice", "#d62728", 0)
    users.register("bob", "#1f77b4", 0)
    alice.connected = True
    assert list(users.connected_colors()) == ["#d62728"]
