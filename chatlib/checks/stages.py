"""Part II checks: each stage's server and client, over real loopback TCP, strings byte for byte.

A server is given as `server=start_server` (shape `start_server(host, port, show) -> asyncio.Server`)
or `handler=handle_client` (shape `handle_client(reader, writer[, show])`); a client as
`client=run_client` (`run_client(host, port, [pseudo,] read_line, show)`), or for ii_2
`client=say_hello` (`say_hello(host, port, show)`, a plain blocking function).
The scenarios themselves are in server_scenarios.py and client_scenarios.py.
"""

from __future__ import annotations

from collections.abc import Callable

from chatlib.checks.client_scenarios import (
    CLIENT_PSEUDO,
    ScenarioRun,
    client_says_hello,
    client_sends_typed_lines,
    client_shows_while_waiting,
    client_stops_when_server_leaves,
    say_hello_scenario,
)
from chatlib.checks.peers import server_from_handler
from chatlib.checks.scenarios import Implementation, Scenario, Step
from chatlib.checks.server_scenarios import (
    BAD_GREETINGS,
    a_bad_first_message_changes_nothing,
    a_departure_does_not_break_the_room,
    clients_are_kept,
    departures_are_announced,
    each_client_gets_its_own_address,
    hello_is_answered,
    hello_is_shown,
    messages_are_shown,
    messages_reach_every_other_client,
    newcomers_are_announced,
    sender_never_hears_itself,
)

STAGES = ("ii_2", "ii_3", "ii_4", "ii_5", "ii_6")
ScenarioFactory = Callable[[str], ScenarioRun]
"""Makes a scenario for one stage (the strings differ from stage to stage)."""

SERVER_SCENARIOS: dict[str, list[tuple[str, ScenarioFactory]]] = {
    "ii_2": [
        ("server answers Hello with the client's IP:port", hello_is_answered),
        ("server shows what the client sent", hello_is_shown),
        ("server answers two clients, each with its own address", each_client_gets_its_own_address),
    ],
    "ii_3": [
        ("server answers Hello with the client's IP:port", hello_is_answered),
        ("server shows 'Message received from IP:Port : msg' for each message", messages_are_shown),
    ],
    "ii_4": [
        ("server answers Hello with the client's IP:port", hello_is_answered),
        ("server relays 'IP:Port a dit : msg' to every other client", messages_reach_every_other_client),
        ("server never sends a message back to its sender", sender_never_hears_itself),
        ("server goes on relaying after a client left", a_departure_does_not_break_the_room),
        ("server keeps each client once in CLIENTS, keyed by (IP, port), with 'r' and 'w'", clients_are_kept),
    ],
    "ii_5": [
        ("server announces 'Annonce : PSEUDO a rejoint la chatroom' to everyone", newcomers_are_announced),
        ("server relays 'PSEUDO a dit : msg' to every other client", messages_reach_every_other_client),
        ("server never sends a message back to its sender", sender_never_hears_itself),
        ("server keeps each client once in CLIENTS, with 'r', 'w' and 'pseudo'", clients_are_kept),
    ],
}
SERVER_SCENARIOS["ii_6"] = [
    *SERVER_SCENARIOS["ii_5"][:3],
    (
        "server keeps each client in CLIENTS while connected, and removes it when it leaves",
        clients_are_kept,
    ),
    (
        "server announces 'Annonce : PSEUDO a quitté la chatroom' when a client leaves",
        lambda stage: departures_are_announced(stage, abruptly=False),
    ),
    (
        "server announces the departure of a client whose connection broke",
        lambda stage: departures_are_announced(stage, abruptly=True),
    ),
]
for pseudo_stage in ("ii_5", "ii_6"):
    SERVER_SCENARIOS[pseudo_stage] += [
        (
            f"server survives a bad first message ({kind}): the others carry on",
            lambda stage, kind=kind: a_bad_first_message_changes_nothing(stage, kind),
        )
        for kind in BAD_GREETINGS
    ]


CLIENT_SCENARIOS: dict[str, list[tuple[str, ScenarioFactory]]] = {
    "ii_2": [("client sends Hello and shows the server's answer", say_hello_scenario)],
    "ii_3": [
        ("client sends Hello first", client_says_hello),
        ("client shows the server's lines while the user types nothing", client_shows_while_waiting),
        ("client sends what the user types", client_sends_typed_lines),
    ],
}
CLIENT_SCENARIOS["ii_4"] = CLIENT_SCENARIOS["ii_3"]
CLIENT_SCENARIOS["ii_5"] = [
    (f"client sends 'Hello|{CLIENT_PSEUDO}' first", client_says_hello),
    *CLIENT_SCENARIOS["ii_3"][1:],
]
CLIENT_SCENARIOS["ii_6"] = [
    *CLIENT_SCENARIOS["ii_5"],
    ("client stops when the server goes away", client_stops_when_server_leaves),
]

STAGE_TITLES = {
    "ii_2": "first server and blocking client",
    "ii_3": "asynchronous client",
    "ii_4": "a working chat",
    "ii_5": "pseudos",
    "ii_6": "disconnection",
}


def use_handler_as_server(given: Implementation) -> Implementation:
    """Accept `handler=handle_client` in place of `server=start_server`."""
    adapted = dict(given)
    handler = adapted.pop("handler", None)
    if adapted.get("server") is None and handler is not None:
        adapted["server"] = server_from_handler(handler)
    return adapted


def stage_step(stage: str) -> Step:
    """The checks of one Part II stage."""
    client_names = ("say_hello",) if stage == "ii_2" else ("run_client",)
    scenarios = [Scenario(name, ("server",), make(stage)) for name, make in SERVER_SCENARIOS[stage]]
    scenarios += [Scenario(name, ("client",), make(stage)) for name, make in CLIENT_SCENARIOS[stage]]
    return Step(
        name=stage,
        title=STAGE_TITLES[stage],
        names={"server": ("start_server",), "handler": ("handle_client",), "client": client_names},
        scenarios=scenarios,
        adapt=use_handler_as_server,
        aliases={"handler": "server"},
    )
