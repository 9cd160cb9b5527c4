"""A load process: many benchmark clients in one asyncio loop, steered by the orchestrator's pipe.

The orchestrator (``run.py``) starts one or more of these with multiprocessing, so that the
clients do not share a CPU core's worth of Python with the server or with each other. Each
process follows the orchestrator's commands ("join", "sync", "go", "close") and answers with its
progress ("leader-in", "joined", "ready") and its results ("done", or "failed" with a reason).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from typing import Literal

from chatlib.app.protocol import EnterRoom, Hello, RoomEntered, RoomList, Say, Welcome, encode
from chatlib.bench.client import BenchClient, BenchError
from chatlib.bench.limits import raise_open_file_limit
from chatlib.bench.wire import SYNC_TEXT, now_ns, pseudo_of, say_frames, sender_key

Mode = Literal["flood", "window", "idle"]


@dataclass(frozen=True)
class LoadPlan:
    """What one load process does: its clients (by global index), which of them send, and how."""

    host: str
    port: int
    mode: Mode
    tag: str
    room: str
    clients: tuple[int, ...]
    total_clients: int  # N, the counted receivers (the stalled clients come on top)
    total_senders: int
    messages: int
    window: int
    leader: bool  # holds client 0, which enters first and tells everyone when all are in
    deadline: float  # time.monotonic() value, shared by every process of the machine
    stalled: int = 0  # clients that join, then stop reading (indices N, N+1...): leader's process only
    connect_concurrency: int = 100
    nodes: tuple[tuple[str, int], ...] = ()  # a cluster's nodes: client i connects to node i mod len
    flood_chunk: int = 64  # SAY frames per write in flood mode


@dataclass
class LoadResult:
    """What one load process measured during the timed part of a fan-out run."""

    delivered: int = 0
    expected: int = 0
    receivers_short: int = 0
    first_send_ns: int = 0
    last_delivery_ns: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    other_frames: int = 0
    problem: str | None = None


@dataclass
class IdleResult:
    """What one load process measured while connecting its idle clients."""

    connected: int = 0
    first_connect_ns: int = 0
    last_welcome_ns: int = 0
    problem: str | None = None


# --- Steps of a run ----------------------------------------------------------------------------


async def connect(plan: LoadPlan, index: int) -> BenchClient:
    """Open one benchmark connection and say HELLO with this run's pseudo for the client."""
    loop = asyncio.get_running_loop()
    host, port = plan.nodes[index % len(plan.nodes)] if plan.nodes else (plan.host, plan.port)
    _, client = await loop.create_connection(
        lambda: BenchClient(index, plan.total_clients + plan.stalled), host, port
    )
    client.send(encode(Hello(pseudo_of(plan.tag, index))))
    await client.expect(Welcome)
    await client.expect(RoomList)
    return client


async def enter_room(plan: LoadPlan, client: BenchClient) -> None:
    """Enter the run's room and wait for the server to confirm it."""
    client.send(encode(EnterRoom(plan.room)))
    await client.expect(RoomEntered)


async def connect_all(
    plan: LoadPlan, indices: tuple[int, ...], step: Callable[[BenchClient], Awaitable[None]] | None = None
) -> list[BenchClient]:
    """Connect these clients, at most ``connect_concurrency`` handshakes at a time."""
    gate = asyncio.Semaphore(plan.connect_concurrency)

    async def one(index: int) -> BenchClient:
        """Connect one client and take it through ``step``, once the gate lets it in."""
        async with gate:
            client = await connect(plan, index)
            if step is not None:
                await step(client)
            return client

    return list(await asyncio.gather(*(one(index) for index in indices)))


def assign_roles(plan: LoadPlan, clients: list[BenchClient]) -> list[BenchClient]:
    """Set each client's expected count and, in window mode, who releases each sender's window.

    A sender's window is released by another client of the same process that sees its
    messages (never the sender itself: nobody hears their own messages). Returns the senders.
    """
    senders = [client for client in clients if client.index < plan.total_senders]
    for client in clients:
        own = plan.messages if client.index < plan.total_senders else 0
        client.expected = plan.total_senders * plan.messages - own
        if client.expected == 0:  # a lone sender hears nothing: it is done before it starts
            client.complete.set()
    if plan.mode == "window" and senders:
        listeners = [client for client in clients if client.index >= plan.total_senders] or clients
        main_watcher = listeners[0]
        backup_watcher = next(client for client in clients if client is not main_watcher)
        for sender in senders:
            watcher = backup_watcher if sender is main_watcher else main_watcher
            watcher.watched[sender_key(sender.index)] = sender.release
    return senders


async def flood(plan: LoadPlan, sender: BenchClient) -> None:
    """Write all of a sender's messages as fast as its connection takes them, many per write."""
    sequence = 0
    while sequence < plan.messages:
        await sender.writable.wait()
        count = min(plan.flood_chunk, plan.messages - sequence)
        sender.send(say_frames(sender.index, sequence, count, now_ns()))
        sequence += count
        await asyncio.sleep(0)  # let the receivers of this process read between two chunks


async def send_windowed(plan: LoadPlan, sender: BenchClient) -> None:
    """Write a sender's messages keeping at most ``window`` of them unseen by its watcher."""
    sequence = 0
    while sequence < plan.messages:
        room = plan.window - sender.in_flight
        if room <= 0:
            sender.released.clear()
            await sender.released.wait()
            continue
        count = min(room, plan.messages - sequence)
        sender.in_flight += count
        sender.send(say_frames(sender.index, sequence, count, now_ns()))
        sequence += count


class Commands:
    """The orchestrator's commands, read from the pipe without blocking the event loop."""

    def __init__(self, pipe: Pipe, deadline: float) -> None:
        self._pipe = pipe
        self._deadline = deadline

    async def expect(self, wanted: str) -> None:
        """Wait for the command ``wanted``; the deadline or any other command is an error."""
        remaining = max(0.0, self._deadline - time.monotonic())
        if not await asyncio.to_thread(self._pipe.poll, remaining):
            raise BenchError(f"no {wanted!r} from the orchestrator before the deadline")
        command = self._pipe.recv()
        if command != wanted:
            raise BenchError(f"expected the command {wanted!r}, got {command!r}")


async def wait_until_done(
    clients: list[BenchClient], tasks: list[asyncio.Task[None]], deadline: float
) -> str | None:
    """Wait for every receiver to have all its messages and every sender to finish.

    Returns None on success, else why the wait stopped (a lost connection, the deadline).
    """
    everything = asyncio.ensure_future(
        asyncio.gather(*tasks, *(client.complete.wait() for client in clients))
    )
    failures = [asyncio.ensure_future(client.failed.wait()) for client in clients]
    await asyncio.wait([everything, *failures], timeout=max(0.0, deadline - time.monotonic()),
                       return_when=asyncio.FIRST_COMPLETED)
    for waiter in failures:
        waiter.cancel()
    if everything.done():
        everything.result()
        return None
    everything.cancel()
    with suppress(asyncio.CancelledError):
        await everything
    failed = [client.failure for client in clients if client.failed.is_set()]
    return failed[0] if failed else "the deadline was reached before every message arrived"


async def join_room(
    pipe: Pipe, commands: Commands, plan: LoadPlan
) -> tuple[list[BenchClient], list[BenchClient]]:
    """Bring this process's clients into the room: the leader first, the rest on "join".

    Returns the counted clients and the stalled ones.
    """
    clients: list[BenchClient] = []
    if plan.leader:
        leader = await connect(plan, plan.clients[0])
        await enter_room(plan, leader)
        clients.append(leader)
        pipe.send(("leader-in", None))
    await commands.expect("join")
    others = plan.clients[1:] if plan.leader else plan.clients
    clients += await connect_all(plan, others, lambda client: enter_room(plan, client))
    stalled_indices = tuple(range(plan.total_clients, plan.total_clients + plan.stalled))
    stalled = await connect_all(plan, stalled_indices, lambda client: enter_room(plan, client))
    return clients, stalled


async def enter_all(pipe: Pipe, commands: Commands, plan: LoadPlan, clients: list[BenchClient]) -> None:
    """Bring clients already greeted into the room as ``join_room`` does: the leader first, the rest
    on "join", at most ``connect_concurrency`` at a time."""
    if plan.leader:
        await enter_room(plan, clients[0])
        pipe.send(("leader-in", None))
    await commands.expect("join")
    gate = asyncio.Semaphore(plan.connect_concurrency)

    async def enter(client: BenchClient) -> None:
        """Enter the room once the gate lets this client in."""
        async with gate:
            await enter_room(plan, client)

    await asyncio.gather(*(enter(client) for client in (clients[1:] if plan.leader else clients)))


async def synchronise(plan: LoadPlan, clients: list[BenchClient], stalled: list[BenchClient]) -> None:
    """Switch every client to counting at the same point of its stream: the leader's sync line.

    The leader says it once it has seen everyone arrive, so in every stream all the arrival
    announcements come before it and only benchmark messages after it.
    """
    if plan.leader:
        await _wait_for(clients[0].everyone_in, clients[0], plan.deadline, "every client's arrival")
        clients[0].start_counting()
        clients[0].send(encode(Say(SYNC_TEXT)))
    for client in clients + stalled:
        await _wait_for(client.synced, client, plan.deadline, "the start signal")
    for client in stalled:
        assert client.transport is not None
        client.transport.pause_reading()  # from now on the server's data piles up for this one


async def measure(plan: LoadPlan, clients: list[BenchClient], senders: list[BenchClient]) -> LoadResult:
    """Send every message and wait for every delivery (or the deadline); return the figures."""
    cpu_start, wall_start = time.process_time(), time.monotonic()
    first_send_ns = now_ns()
    send = flood if plan.mode == "flood" else send_windowed
    tasks = [asyncio.create_task(send(plan, sender)) for sender in senders]
    problem = await wait_until_done(clients, tasks, plan.deadline)
    for task in tasks:
        task.cancel()
    counters = [client.counter for client in clients if client.counter is not None]
    return LoadResult(
        delivered=sum(counter.delivered for counter in counters),
        expected=sum(client.expected for client in clients),
        receivers_short=sum(1 for client in clients if not client.complete.is_set()),
        first_send_ns=first_send_ns,
        last_delivery_ns=max((client.completed_ns for client in clients), default=0) or now_ns(),
        latencies_ns=[latency for counter in counters for latency in counter.latencies_ns],
        cpu_seconds=time.process_time() - cpu_start,
        wall_seconds=time.monotonic() - wall_start,
        other_frames=sum(counter.other_frames for counter in counters),
        problem=problem,
    )


async def run_fanout(pipe: Pipe, plan: LoadPlan) -> None:
    """Join, synchronise, then send and count, each step on the orchestrator's command."""
    commands = Commands(pipe, plan.deadline)
    clients, stalled = await join_room(pipe, commands, plan)
    senders = assign_roles(plan, clients)
    pipe.send(("joined", None))
    await commands.expect("sync")  # every process has its roles set before anyone may start counting
    await synchronise(plan, clients, stalled)
    pipe.send(("ready", None))
    await commands.expect("go")
    pipe.send(("done", await measure(plan, clients, senders)))
    await commands.expect("close")
    for client in clients + stalled:
        if client.transport is not None:
            client.transport.close()


async def _wait_for(event: asyncio.Event, client: BenchClient, deadline: float, what: str) -> None:
    """Wait for ``event`` unless the client fails or the deadline passes first."""
    done = asyncio.ensure_future(event.wait())
    failed = asyncio.ensure_future(client.failed.wait())
    await asyncio.wait((done, failed), timeout=max(0.0, deadline - time.monotonic()),
                       return_when=asyncio.FIRST_COMPLETED)
    failed.cancel()
    if not done.done():
        done.cancel()
        raise BenchError(client.failure or f"client {client.index}: no {what} before the deadline")


async def run_idle(pipe: Pipe, plan: LoadPlan) -> None:
    """Connect every client (HELLO handshake only) on "go" and report the timing; then, on "enter",
    bring them all into one room as a fan-out run does (join, sync); hold until "close"."""
    commands = Commands(pipe, plan.deadline)
    await commands.expect("go")
    first_connect_ns = now_ns()
    connecting = asyncio.ensure_future(connect_all(plan, plan.clients))
    remaining = max(0.0, plan.deadline - time.monotonic())
    try:
        clients = await asyncio.wait_for(connecting, remaining)
    except TimeoutError:
        raise BenchError("the deadline was reached before every idle client was connected") from None
    pipe.send(("done", IdleResult(len(clients), first_connect_ns, now_ns())))
    await commands.expect("enter")
    await enter_all(pipe, commands, plan, clients)
    pipe.send(("joined", None))
    await commands.expect("sync")
    await synchronise(plan, clients, [])  # every arrival announced to everyone has been read
    pipe.send(("ready", None))
    await commands.expect("close")
    for client in clients:
        if client.transport is not None:
            client.transport.close()


async def _run(pipe: Pipe, plan: LoadPlan) -> None:
    """Run the plan; any failure is reported on the pipe as ("failed", reason)."""
    try:
        await (run_idle(pipe, plan) if plan.mode == "idle" else run_fanout(pipe, plan))
    except (BenchError, OSError) as error:
        pipe.send(("failed", str(error) or type(error).__name__))
    except Exception as error:
        pipe.send(("failed", f"internal error in the load process: {error!r}"))
        raise


def load_loop_name() -> str:
    """The event loop the load processes use: uvloop when installed (less overhead per read)."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop of the kind ``load_loop_name`` names."""
    if load_loop_name() == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def load_process_main(pipe: Pipe, plan: LoadPlan) -> None:
    """Entry point of a load process (multiprocessing target)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the orchestrator's to handle
    raise_open_file_limit()
    try:
        with asyncio.Runner(loop_factory=_new_event_loop) as runner:
            runner.run(_run(pipe, plan))
    except (KeyboardInterrupt, BrokenPipeError, EOFError):
        pass  # the orchestrator is gone or was interrupted: nothing left to report to
