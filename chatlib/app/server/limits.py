"""The server's limits and timeouts, with their defaults, in one place (see docs/ROBUSTNESS.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatlib.app.server.ratelimit import Allowance, RateLimit

IMAGE_COST = 4  # an IMAGE takes this many frames' worth of the rate limit (any other frame: 1)
# What a client still sends once the server is closing its connection is read and dropped, so that
# the close is not a reset that would lose the ERROR saying why; but only so much: past this, the
# server reads it no more (the kernel's buffers keep the rest until the connection is closed).
MAX_DROPPED_BYTES = 64 * 1024
MiB = 1024 * 1024
DEFAULT_CONNECT_RATE = Allowance(per_second=20.0, burst=200)  # connections from one IP address
DEFAULT_REGISTRATION_RATE = Allowance(per_second=100 / 3600, burst=100)  # new pseudos per IP: 100 an hour


@dataclass(frozen=True)
class ServerLimits:
    """What one client may do before the server drops it, and how much the server takes on at all.

    Tests pass short timeouts; ``rate_limit=None`` switches flood control off (for benchmarks),
    and ``connect_rate=None``, ``registration_rate=None`` the limits per IP address.
    """

    max_connections: int = 4096
    max_connections_per_ip: int = 1024  # loopback tests and benchmarks open many from one address
    hello_timeout: float = 10.0  # seconds from connecting to an accepted HELLO
    idle_timeout: float = 60.0  # seconds of silence before the server sends PING
    pong_timeout: float = 20.0  # seconds to answer a PING (any frame will do)
    max_queued_bytes: int = 8 * MiB  # unread bytes per client (one 2 MiB image fits thrice)
    max_queued_frames: int = 100_000  # frames waiting beyond the transport's 64 KiB buffer
    max_buffered_bytes: int = 64 * MiB  # all clients together: frames half received, output not yet read
    rate_limit: RateLimit | None = field(default_factory=RateLimit)  # frames per connection
    connect_rate: Allowance | None = DEFAULT_CONNECT_RATE
    registration_rate: Allowance | None = DEFAULT_REGISTRATION_RATE
    max_known_users: int = 10_000  # pseudos registered in all, kept across restarts
    max_rooms: int = 1000  # rooms existing at once (the ROOMS frame lists 1000)
    image_timeout: float = 5.0  # seconds to decode one image (the largest legal one takes under 1 s)
    max_images_waiting: int = 8  # images being checked or waiting for it, all clients together
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
