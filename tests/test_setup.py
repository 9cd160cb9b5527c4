"""The course's own setup: the package imports and knows its layout."""

import importlib


def test_package_layout_follows_the_course() -> None:
    for part in ("chatlib.first_steps", "chatlib.stages", "chatlib.app"):
        assert importlib.import_module(part).__doc__
