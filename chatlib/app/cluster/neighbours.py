"""The other nodes as this one sees them: their last state, and which ones stopped answering.

Every node publishes its state (rooms, members, users) when it changes and twice a second
anyway. A node not heard from for ``EXPIRY`` seconds is taken for dead; one that leaves on
purpose says so (``gone``). From the states of the living, a node lists the rooms of the whole
cluster with their sizes (ROOMS) and knows where each user is connected.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from chatlib.app.cluster.envelope import NodeState
from chatlib.app.protocol import MAX_ROOMS_LISTED, RoomInfo
from chatlib.app.protocol.names import name_key

HEARTBEAT = 0.5  # seconds between two states of a node, at most
EXPIRY = 3.0  # seconds without a state after which a node is taken for dead


class Neighbours:
    """The living nodes' last states, by node id."""

    def __init__(self) -> None:
        self._states: dict[str, tuple[NodeState, float]] = {}

    def heard(self, state: NodeState) -> None:
        """A node's new state (or its goodbye)."""
        if state.gone:
            self._states.pop(state.node, None)
        else:
            self._states[state.node] = (state, time.monotonic())

    def forget(self, node: str) -> NodeState | None:
        """Take a node out (it is dead); its last state, if it was known."""
        known = self._states.pop(node, None)
        return known[0] if known else None

    def silent(self, now: float | None = None) -> list[str]:
        """The nodes not heard from for longer than EXPIRY."""
        now = time.monotonic() if now is None else now
        return [node for node, (_, heard_at) in self._states.items() if now - heard_at > EXPIRY]

    def holder_of(self, user_id: str) -> str | None:
        """The node where this user is connected, according to the states."""
        return next((node for node, (state, _) in self._states.items() if user_id in state.users), None)

    @property
    def nodes(self) -> list[str]:
        """The ids of the nodes alive, as far as this node knows."""
        return list(self._states)

    def states(self) -> Iterable[NodeState]:
        """The living nodes' last states."""
        return (state for state, _ in self._states.values())


def cluster_listing(
    local: Iterable[tuple[str, int, bool]], remote: Iterable[NodeState]
) -> tuple[RoomInfo, ...]:
    """Every room of the cluster with its members on all nodes: permanent first, then the busiest.

    ``local`` gives this node's rooms as (name, members, permanent); a room's name is the one
    this node knows it by, else the first node's that has it.
    """
    names: dict[str, str] = {}
    members: dict[str, int] = {}
    permanent: set[str] = set()
    for name, count, is_permanent in local:
        key = name_key(name)
        names[key], members[key] = name, count
        if is_permanent:
            permanent.add(key)
    for state in remote:
        for name, pseudos in state.rooms.items():
            key = name_key(name)
            names.setdefault(key, name)
            members[key] = members.get(key, 0) + len(pseudos)
    keys = sorted(names, key=lambda key: (key not in permanent, -members[key], key))
    return tuple(RoomInfo(names[key], min(members[key], 0xFFFF)) for key in keys[:MAX_ROOMS_LISTED])
