"""The course's own implementation of each step, in the shape the checks take."""

from __future__ import annotations

import importlib
from typing import Any

# step -> keyword -> "module:attribute"
REFERENCES: dict[str, dict[str, str]] = {
    "sleep_sync": {
        "count": "chatlib.first_steps.sleep_and_print:count",
        "count_twice": "chatlib.first_steps.sleep_and_print:count_twice",
    },
    "sleep_async": {
        "count": "chatlib.first_steps.sleep_and_print_async:count",
        "count_twice": "chatlib.first_steps.sleep_and_print_async:count_twice",
    },
    "web_sync": {
        "get_content": "chatlib.first_steps.web_sync:get_content",
        "write_content": "chatlib.first_steps.web_sync:write_content",
    },
    "web_async": {
        "get_content": "chatlib.first_steps.web_async:get_content",
        "write_content": "chatlib.first_steps.web_async:write_content",
    },
    "web_sync_multiple": {"download_all": "chatlib.first_steps.web_sync_multiple:download_all"},
    "web_async_multiple": {"download_all": "chatlib.first_steps.web_async_multiple:download_all"},
    "ii_2": {
        "server": "chatlib.stages.ii_2.server:start_server",
        "client": "chatlib.stages.ii_2.client:say_hello",
    },
    **{
        stage: {
            "server": f"chatlib.stages.{stage}.server:start_server",
            "client": f"chatlib.stages.{stage}.client:run_client",
        }
        for stage in ("ii_3", "ii_4", "ii_5", "ii_6")
    },
    "protocol": {
        "encode": "chatlib.app.protocol:encode",
        "decoder": "chatlib.app.protocol:FrameDecoder",
        "link": "chatlib.app.client.server_link:ServerLink",
    },
}


def reference(step: str) -> dict[str, Any]:
    """The course's implementation of `step`, by keyword."""
    found: dict[str, Any] = {}
    for keyword, location in REFERENCES[step].items():
        module_name, attribute = location.split(":")
        found[keyword] = getattr(importlib.import_module(module_name), attribute)
    return found
