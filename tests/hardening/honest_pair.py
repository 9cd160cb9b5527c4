"""Two honest users chatting while an attack runs: run in a process of their own, they report what
they lived through as one JSON line.

``python -m tests.hardening.honest_pair PORT SECONDS [RATE]``: alice and bob enter ``general``
on 127.0.0.1:PORT and each says RATE lines a second (3 by default) for SECONDS seconds; each
line is timed from the moment it is sent to the moment the other receives it. Once they are in
the room they print ``ready``; at the end, a JSON object: how many lines were sent and received,
any lost or out of order, the latency's p50, p99 and maximum in milliseconds, and when (Unix
time) each line was received, for the attack commands to compare with the history file.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from contextlib import suppress

from chatlib.app.protocol import Message, Ping, Pong
from tests.app.conftest import ConnectionClosed, FrameClient

DRAIN_SECONDS = 3.0  # how long, after the last line, the pair waits for lines still on their way
STARTED = time.perf_counter_ns()


class Listener:
    """What one of the pair receives from the other: each line's latency and arrival time."""

    def __init__(self, client: FrameClient, speaker: str) -> None:
        self.client, self.speaker = client, speaker
        self.sent_at: dict[str, int] = {}  # text: perf_counter_ns when the other sent it
        self.latencies_ns: list[int] = []
        self.worst: list[tuple[float, float]] = []  # (seconds since the start, latency in ms) of the slowest
        self.received_at: dict[str, float] = {}  # text: Unix time of arrival
        self.out_of_order = 0
        self._last_number = -1

    async def listen(self) -> None:
        """Record every line from the speaker, until the connection ends; answer PINGs."""
        with suppress(ConnectionClosed, ConnectionError, TimeoutError):
            while True:
                frame = await self.client.next_frame(timeout=3600)
                if isinstance(frame, Ping):
                    await self.client.send(Pong())
                elif isinstance(frame, Message) and frame.pseudo == self.speaker:
                    now = time.perf_counter_ns()
                    number = int(frame.text.split()[-1])
                    self.out_of_order += number != self._last_number + 1
                    self._last_number = number
                    latency = now - self.sent_at.get(frame.text, now)
                    self.latencies_ns.append(latency)
                    self.worst = sorted(
                        [*self.worst, ((now - STARTED) / 1e9, latency / 1e6)], key=lambda w: -w[1]
                    )[:3]
                    self.received_at[frame.text] = time.time()


async def talk(client: FrameClient, pseudo: str, listener: Listener, rate: float, seconds: float) -> int:
    """Say ``rate`` lines a second for ``seconds`` seconds; return how many were sent."""
    sent = 0
    start = time.perf_counter()
    with suppress(ConnectionError, TimeoutError):
        while (elapsed := time.perf_counter() - start) < seconds:
            text = f"{pseudo} says {sent}"
            listener.sent_at[text] = time.perf_counter_ns()
            await client.say(text)
            sent += 1
            await asyncio.sleep(max(0.0, sent / rate - elapsed))
    return sent


def percentile(sorted_values: list[int], fraction: float) -> float:
    """The value below which ``fraction`` of the values lie, in milliseconds."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))] / 1e6


async def chat(port: int, seconds: float, rate: float) -> dict[str, object]:
    """Run the pair and return the report."""
    alice = await FrameClient.connect("127.0.0.1", port)
    await alice.hello("alice")
    await alice.enter("general")
    bob = await FrameClient.connect("127.0.0.1", port)
    await bob.hello("bob")
    await bob.enter("general")
    await alice.next_frame()  # bob's arrival
    to_bob, to_alice = Listener(bob, "alice"), Listener(alice, "bob")
    listening = [asyncio.create_task(listener.listen()) for listener in (to_bob, to_alice)]
    print("ready", flush=True)
    sent = await asyncio.gather(
        talk(alice, "alice", to_bob, rate, seconds), talk(bob, "bob", to_alice, rate, seconds)
    )
    deadline = time.perf_counter() + DRAIN_SECONDS
    while time.perf_counter() < deadline and (
        len(to_bob.latencies_ns) < sent[0] or len(to_alice.latencies_ns) < sent[1]
    ):
        await asyncio.sleep(0.05)  # lines still on their way: nothing else to wait on
    for task in listening:
        task.cancel()
    latencies = sorted(to_bob.latencies_ns + to_alice.latencies_ns)
    received = len(latencies)
    return {
        "sent": sum(sent),
        "received": received,
        "lost": sum(sent) - received,
        "out_of_order": to_bob.out_of_order + to_alice.out_of_order,
        "p50_ms": round(percentile(latencies, 0.5), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(latencies[-1] / 1e6, 2) if latencies else None,
        "slowest": sorted(to_bob.worst + to_alice.worst, key=lambda w: -w[1])[:3],
        "received_at": to_bob.received_at | to_alice.received_at,
    }


if __name__ == "__main__":
    report = asyncio.run(
        chat(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 3.0)
    )
    print(json.dumps(report), flush=True)
