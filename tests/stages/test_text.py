"""The stages' pure text functions: decoding a message, the Hello greeting, safe display, ports."""

from __future__ import annotations

import argparse

import pytest

from chatlib.stages.cli import parse_address, port_number, printable
from chatlib.stages.ii_6.server import decode_message, parse_hello

from .conftest import STAGES, stage_module


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"Hello", "Hello"),
        (b"Hello\n", "Hello"),
        (b"Hello\r\n", "Hello"),
        (b"two\n\n", "two\n"),
        ("bonjour \u00e0 tous".encode(), "bonjour \u00e0 tous"),
        (b"", ""),
    ],
)
def test_decode_message_strips_one_line_ending(stage: str, data: bytes, text: str) -> None:
    assert stage_module(stage, "server").decode_message(data) == text


def test_decode_message_rejects_invalid_utf8() -> None:
    with pytest.raises(UnicodeDecodeError):
        decode_message(b"caf\xe9")


@pytest.mark.parametrize(
    ("message", "pseudo"),
    [
        ("Hello|it4", "it4"),
        ("Hello| it4 ", "it4"),
        ("Hello|a|b", "a|b"),
        ("Hello|", None),
        ("Hello|   ", None),
        ("Hello", None),
        ("Hellothere|it4", None),
        ("hello|it4", None),
        ("Bonjour", None),
    ],
)
def test_parse_hello(message: str, pseudo: str | None) -> None:
    assert parse_hello(message) == pseudo


def test_printable_keeps_text_and_escapes_controls() -> None:
    assert printable("d\u00e9j\u00e0 vu \U0001f600") == "d\u00e9j\u00e0 vu \U0001f600"
    assert printable("\x1b[2Jx\ny\u202e") == "\\x1b[2Jx\\ny\\u202e"


def test_address_options() -> None:
    assert vars(parse_address("test", [])) == {"address": "127.0.0.1", "port": 8888}
    assert vars(parse_address("test", ["-a", "0.0.0.0", "-p", "9999"])) == {
        "address": "0.0.0.0",
        "port": 9999,
    }
    assert vars(parse_address("test", ["--address", "::1", "--port", "0"])) == {"address": "::1", "port": 0}
    for bad in ("x", "-1", "65536"):
        with pytest.raises(argparse.ArgumentTypeError):
            port_number(bad)
