"""The server's limits and timeouts, with their defaults, in one place (see docs/ROBUSTNESS.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatlib.app.server.ratelimit import RateLimit

IMAGE_COST = 4  # an IMAGE takes this many messages' worth of the rate limit (SAY, ENTER_ROOM: 1)


@dataclass(frozen=True)
class ServerLimits:
    """What one client may do before the server drops it, and how many clients it takes at all.

    Tests pass short timeouts; ``rate_limit=None`` switches flood control off (for benchmarks).
    """

    max_connections: int = 4096
    max_connections_per_ip: int = 1024  # loopback tests and benchmarks open many from one address
    hello_timeout: float = 10.0  # seconds from connecting to an accepted HELLO
    idle_timeout: float = 60.0  # seconds of silence before the server sends PING
    pong_timeout: float = 20.0  # seconds to answer a PING (any frame will do)
    max_queued_bytes: int = 8 * 1024 * 1024  # unread bytes per client (one 2 MiB image fits thrice)
    max_queued_frames: int = 100_000  # frames waiting beyond the transport's 64 KiB buffer
    rate_limit: RateLimit | None = field(default_factory=RateLimit)
    close_grace: float = 1.0  # seconds a closing connection has to read its last frames
    shutdown_grace: float = 2.0  # seconds the clients have to read CLOSING at shutdown

    def __post_init__(self) -> None:
        numbers = {name: value for name, value in vars(self).items() if isinstance(value, (int, float))}
        negative = [name for name, value in numbers.items() if value <= 0]
        if negative:
            raise ValueError(f"server limits must be positive: {', '.join(negative)}")

    def watch_interval(self) -> float:
        """How often the idle watcher looks at every connection: often enough for the shortest timeout."""
        return max(0.02, min(self.hello_timeout, self.idle_timeout, self.pong_timeout) / 4)
