"""A chat server as one node of a cluster: what ``StandAlone`` does in-process, done with NATS.

``ClusterSharing`` is what ``ChatServer(sharing=...)`` calls (see ``server/sharing.py``):

- ``relayed``: what a room of this node heard goes to the ``RoomPublisher`` (publisher.py),
  stored in the history stream, then published live on the room's subject;
- what the other nodes publish on ``chat.room.*`` arrives in ``_take_batch``: the frames go to
  this node's members of the room (through the room's broadcast, with today's batching and
  bounded outboxes), the entries to this node's copy of the history;
- ``admit``: users come from the users bucket (users.py), a new pseudo is claimed there, and a
  returning user is refused if another node has them connected;
- ``room_listing``: the rooms of every node (neighbours.py).

Each node keeps the last entries of every room in memory, as a standalone server does, so that
whoever enters a room sees its history at once; the stream fills that memory at start, and
again after the connection to NATS came back.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from contextlib import suppress

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from chatlib.app.cluster.envelope import BadEnvelope, BatchLedger, NodeState, decode_batch
from chatlib.app.cluster.neighbours import HEARTBEAT, Neighbours, cluster_listing
from chatlib.app.cluster.patience import REQUEST_TIMEOUT, patiently
from chatlib.app.cluster.publisher import RoomPublisher
from chatlib.app.cluster.subjects import (
    HISTORY_STREAM,
    HISTORY_SUBJECTS,
    NODE_STATES,
    NODES_BUCKET,
    ROOM_SUBJECTS,
    USERS_BUCKET,
    gone_key,
    node_presence_subject,
    node_state_subject,
)
from chatlib.app.cluster.users import ClusterUsers, UserBucket, new_user
from chatlib.app.protocol import Announcement, RoomInfo, encode, wording
from chatlib.app.protocol.history import HistoryEntry
from chatlib.app.server.persistence import ServerStore
from chatlib.app.server.rooms import RoomRegistry
from chatlib.app.server.sharing import Admitted, StandAlone
from chatlib.app.server.users import KnownUser, KnownUsers, Verdict

logger = logging.getLogger(__name__)

DEFAULT_PATIENCE = 10.0  # seconds a node waits for NATS (at start, or once lost) before it gives up
PRESENCE_TIMEOUT = 1.0  # seconds another node has to say whether a user is connected to it
LOAD_TIMEOUT = 5.0  # seconds to wait for the next stored batch while loading the history
STATE_PAUSE = 0.02  # at most 50 states a second
STOP_FLUSH_TIMEOUT = 3.0


class ClusterUnreachable(Exception):
    """NATS could not be reached, or JetStream could not be set up; the message says why."""


class ClusterUnavailable(ConnectionError):
    """The cluster does not answer a question a HELLO needs (the client is disconnected)."""


def now_ms() -> int:
    """The current time in milliseconds since the Unix epoch (as the server's clock)."""
    return time.time_ns() // 1_000_000


class ClusterSharing(StandAlone):
    """This node's link to the cluster: one NATS connection, the history stream and two buckets."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        patience: float = DEFAULT_PATIENCE,
        replicas: int | None = None,
        clock: Callable[[], int] = now_ms,
        node_id: str | None = None,
    ) -> None:
        self.urls = list(urls)
        self.node = node_id or secrets.token_hex(4)
        self.patience = patience
        self.replicas = replicas
        self._clock = clock
        self.lost = asyncio.Event()  # set when the node gives up on the cluster (see lost_reason)
        self.lost_reason = ""
        self.neighbours = Neighbours()
        self._connection: Client | None = None
        self._jetstream: JetStreamContext | None = None
        self._users: UserBucket | None = None
        self._nodes_bucket: nats.js.kv.KeyValue | None = None
        self._rooms: RoomRegistry | None = None  # type: ignore[type-arg]
        self._store: ServerStore | None = None
        self.publisher: RoomPublisher | None = None
        self._recorded = BatchLedger()  # the batches whose entries this node's history has
        self._delivered = BatchLedger()  # the batches whose frames went to this node's members
        self._loading = False
        self._held_back: list[bytes] = []  # live batches that arrived while the history loaded
        self._state_changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._disconnected_at: float | None = None
        self.history_batches_loaded = 0

    # --- Joining and leaving -------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect to NATS (any of ``urls``); ClusterUnreachable after ``patience`` seconds without."""
        last_error: list[BaseException] = []

        async def remember_error(error: Exception) -> None:
            last_error[:] = [error]
            logger.debug("NATS: %s", error)

        options = dict(
            servers=self.urls, name=f"chat-server {self.node}", no_echo=True, dont_randomize=True,
            allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=0.25, connect_timeout=2,
            ping_interval=5, max_outstanding_pings=2, error_cb=remember_error,
            disconnected_cb=self._disconnected, reconnected_cb=self._reconnected, closed_cb=self._closed,
        )
        try:
            async with asyncio.timeout(self.patience):
                self._connection = await nats.connect(**options)  # type: ignore[arg-type]
        except (TimeoutError, OSError, nats.errors.Error) as error:
            cause = last_error[0] if last_error else error
            raise ClusterUnreachable(f"cannot reach NATS at {', '.join(self.urls)}: {describe(cause)}") from None
        self._jetstream = self._connection.jetstream(timeout=REQUEST_TIMEOUT)

    async def start(self, rooms: RoomRegistry, store: ServerStore) -> None:  # type: ignore[type-arg]
        """Set up the stream and buckets, load the history, and start hearing the other nodes."""
        if self._connection is None:
            await self.connect()
        assert self._connection is not None and self._jetstream is not None
        self._rooms, self._store = rooms, store
        store.users = ClusterUsers()
        try:
            await self._set_up_jetstream(store.history.length)
        except (TimeoutError, nats.errors.Error) as error:
            raise ClusterUnreachable(f"JetStream is not available on NATS: {describe(error)}") from None
        connection = self._connection
        self._loading = True
        await connection.subscribe(ROOM_SUBJECTS, cb=self._on_live_batch)
        await connection.subscribe(NODE_STATES, cb=self._on_state)
        await connection.subscribe(node_presence_subject(self.node), cb=self._on_presence_question)
        await connection.flush()
        await self._load_history()
        self.publisher = RoomPublisher(self.node, connection, self._jetstream, self.patience, self._give_up)
        self._tasks = [
            asyncio.create_task(self.publisher.run(), name="publish room batches"),
            asyncio.create_task(self._keep_neighbours_informed(), name="publish this node's state"),
        ]
        logger.info("node %s joined the cluster at %s", self.node, connection.connected_url.netloc
                    if connection.connected_url else "?")

    async def _set_up_jetstream(self, history_length: int) -> None:
        """The history stream and the two buckets, created by the first node (kept as they are after)."""
        assert self._connection is not None and self._jetstream is not None
        jetstream = self._jetstream
        replicas = self.replicas or min(3, max(1, len(self._connection.servers)))
        history = api.StreamConfig(
            name=HISTORY_STREAM, subjects=[HISTORY_SUBJECTS], num_replicas=replicas,
            max_msgs_per_subject=max(1, history_length), storage=api.StorageType.FILE,
        )
        try:
            await patiently(lambda: jetstream.stream_info(HISTORY_STREAM), self.patience)
        except nats.js.errors.NotFoundError:
            await patiently(lambda: jetstream.add_stream(history), self.patience)
        self._users = UserBucket(await self._bucket(USERS_BUCKET, replicas), self.patience)
        self._nodes_bucket = await self._bucket(NODES_BUCKET, replicas)

    async def _bucket(self, name: str, replicas: int) -> nats.js.kv.KeyValue:
        """A key-value bucket, created if this is the first node to need it."""
        jetstream = self._jetstream
        assert jetstream is not None
        try:
            return await patiently(lambda: jetstream.key_value(name), self.patience)
        except nats.js.errors.BucketNotFoundError:
            return await patiently(
                lambda: jetstream.create_key_value(bucket=name, replicas=replicas, history=1), self.patience
            )

    async def stop(self) -> None:
        """Called once every client is closed: send what is left, say goodbye, close the connection."""
        self._stopping = True
        connection = self._connection
        if connection is None:
            return
        if self.publisher is not None and not self.lost.is_set():
            await self.publisher.wait_until_sent(STOP_FLUSH_TIMEOUT)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if connection.is_connected:
            with suppress(nats.errors.Error, TimeoutError, OSError):
                await connection.publish(node_state_subject(self.node), self._state(gone=True).to_bytes())
                await connection.flush(timeout=1)
        with suppress(nats.errors.Error, TimeoutError, OSError):  # a connection already lost closes quietly
            await connection.close()

    # --- The seam: what ChatServer asks -------------------------------------------------------

    async def admit(
        self, users: KnownUsers, pseudo: str, token: str, new_color: Callable[[], str], now_ms: int
    ) -> Admitted:
        """Judge a HELLO against the users of the whole cluster; claim a new pseudo in the bucket."""
        assert self._users is not None and isinstance(users, ClusterUsers)
        try:
            if users.find(pseudo) is None:
                await self._read_user(users, pseudo)
            verdict, user = users.judge(pseudo, token)
            if verdict is Verdict.NEW:
                user, new_token = new_user(pseudo, new_color(), now_ms)
                if not await self._users.claim(user):  # another node won this pseudo a moment ago
                    return Verdict.IN_USE, await self._read_user(users, pseudo), token
                users.add(user)
                token = new_token
            elif user is not None and await self._connected_elsewhere(user):  # as connected here
                verdict = Verdict.IN_USE
        except (TimeoutError, nats.errors.Error) as error:
            raise ClusterUnavailable(f"the cluster does not answer: {describe(error)}") from None
        if verdict in (Verdict.NEW, Verdict.RETURNING):
            self._state_changed.set()
        return verdict, user, token

    async def _read_user(self, users: ClusterUsers, pseudo: str) -> KnownUser | None:
        """Copy a user from the bucket into this node's users, if the bucket has one."""
        assert self._users is not None
        found = await self._users.find(pseudo)
        return users.add(found) if found is not None else None

    async def _connected_elsewhere(self, user: KnownUser) -> bool:
        """Whether another node has this user connected: ask the node whose state says so."""
        holder = self.neighbours.holder_of(user.user_id)
        if holder is None:
            return False
        assert self._connection is not None
        try:
            answer = await self._connection.request(
                node_presence_subject(holder), user.user_id.encode(), timeout=PRESENCE_TIMEOUT
            )
        except nats.errors.NoRespondersError:  # its subscription is gone: that node is dead
            await self._node_died(holder)
            return False
        except nats.errors.TimeoutError:
            return True  # alive but slow: better refuse than let the same user in twice
        return answer.data == b"yes"

    def room_listing(self, local: tuple[RoomInfo, ...]) -> tuple[RoomInfo, ...]:
        """The rooms of every node, with their members on all of them."""
        assert self._rooms is not None
        mine = ((room.name, len(room.members), room.permanent) for room in self._rooms)
        return cluster_listing(mine, self.neighbours.states())

    def relayed(self, room: str, frame: bytes, entry: HistoryEntry) -> None:
        """A room of this node heard something: the other nodes will hear it too."""
        if self.publisher is not None:
            self.publisher.add(room, frame, entry)
        if entry.kind == "announce":  # someone came or went: the room's members changed
            self._state_changed.set()

    # --- What the other nodes send -------------------------------------------------------------

    async def _on_live_batch(self, message: Msg) -> None:
        """A batch another node published live: to this node's members of the room, and its history."""
        if self._loading:
            self._held_back.append(message.data)
        else:
            self._take_batch(message.data, live=True)

    def _take_batch(self, data: bytes, live: bool) -> None:
        """Take a batch (live, or from the stream): record its entries once; deliver its frames once if live.

        The same batch can come both ways (after a reconnection the stream is read again while
        the live batches go on): its number, per node, tells whether it was taken already.
        """
        try:
            batch = decode_batch(data)
        except BadEnvelope as problem:
            logger.warning("ignoring a batch from another node: %s", problem)
            return
        if batch.origin == self.node:
            return
        assert self._store is not None and self._rooms is not None
        if self._recorded.take(batch.origin, batch.number):
            for entry in batch.entries:
                self._store.history.record(batch.room, entry)
        if live and self._delivered.take(batch.origin, batch.number) and batch.frames:
            room = self._rooms.find(batch.room)
            if room is not None and room.members:
                room.broadcast.send(batch.frames)  # with this turn's own frames, in one write each

    async def _load_history(self, hold_live: bool = True) -> None:
        """Read every room's stored batches (the newest of each room).

        At start, the live batches that arrive meanwhile wait (``hold_live``) so that the
        history is in order; after a reconnection they are delivered at once, and only what is
        missing is recorded from the stream.
        """
        assert self._jetstream is not None
        self._loading = hold_live
        try:
            info = await self._jetstream.stream_info(HISTORY_STREAM)
            if info.state.messages:
                subscription = await self._jetstream.subscribe(HISTORY_SUBJECTS, ordered_consumer=True)
                try:
                    while True:
                        message = await subscription.next_msg(timeout=LOAD_TIMEOUT)
                        self._take_batch(message.data, live=False)
                        self.history_batches_loaded += 1
                        if message.metadata.num_pending == 0:
                            break
                finally:
                    with suppress(nats.errors.Error):
                        await subscription.unsubscribe()
        finally:
            self._loading = False
            held_back, self._held_back = self._held_back, []
            for data in held_back:
                self._take_batch(data, live=True)

    async def _on_state(self, message: Msg) -> None:
        """Another node's state: its rooms, members and users (or its goodbye)."""
        try:
            state = NodeState.from_bytes(message.data)
        except BadEnvelope as problem:
            logger.warning("ignoring a node state: %s", problem)
            return
        if state.node != self.node:
            self.neighbours.heard(state)

    async def _on_presence_question(self, message: Msg) -> None:
        """Another node asks whether a user is connected here."""
        assert self._store is not None
        user_id = message.data.decode("utf-8", errors="replace")
        here = any(user.user_id == user_id and user.connected for user in self._store.users)
        with suppress(nats.errors.Error):
            await message.respond(b"yes" if here else b"no")

    # --- This node's state, and the death of others -------------------------------------------

    def _state(self, gone: bool = False) -> NodeState:
        """This node as the others should see it."""
        assert self._rooms is not None and self._store is not None
        rooms = {
            room.name: sorted(member.pseudo for member in room.members if member.pseudo)
            for room in self._rooms
            if room.members or room.permanent
        }
        users = frozenset(user.user_id for user in self._store.users if user.connected)
        return NodeState(self.node, rooms, users, gone)

    async def _keep_neighbours_informed(self) -> None:
        """Publish this node's state when it changes (and every HEARTBEAT); notice silent nodes."""
        assert self._connection is not None
        while True:
            with suppress(TimeoutError):
                async with asyncio.timeout(HEARTBEAT):
                    await self._state_changed.wait()
            self._state_changed.clear()
            if self._connection.is_connected:
                with suppress(nats.errors.Error):
                    await self._connection.publish(node_state_subject(self.node), self._state().to_bytes())
                for node in self.neighbours.silent():
                    await self._node_died(node)
            await asyncio.sleep(STATE_PAUSE)

    async def _node_died(self, node: str) -> None:
        """A node stopped answering: one living node announces its members' departures to their rooms.

        That node is the one that creates the key ``gone-<node>`` (exactly one can): every room
        then hears each departure once, in its history too.
        """
        state = self.neighbours.forget(node)
        if state is None or self._nodes_bucket is None:
            return
        bucket = self._nodes_bucket
        try:
            await patiently(lambda: bucket.create(gone_key(node), self.node.encode()), self.patience)
        except nats.js.errors.KeyWrongLastSequenceError:
            return  # another node announces them
        except (TimeoutError, nats.errors.Error) as error:
            logger.warning("could not announce the departures of node %s: %s", node, describe(error))
            return
        logger.warning("node %s is gone; announcing the departure of its members", node)
        for room_name, pseudos in state.rooms.items():
            for pseudo in pseudos:
                self._announce(room_name, wording.left(pseudo))

    def _announce(self, room_name: str, text: str) -> None:
        """Tell a room something on behalf of the cluster, as the relay does for this node's rooms."""
        assert self._rooms is not None and self._store is not None
        announcement = Announcement(self._clock(), text)
        frame = encode(announcement)
        entry = HistoryEntry.announcement(announcement.time_ms, text)
        room = self._rooms.find(room_name)
        if room is not None:
            room.broadcast.send(frame)
            room.broadcast.deliver()
        self._store.history.record(room_name, entry)
        self.relayed(room_name, frame, entry)

    # --- The connection to NATS ----------------------------------------------------------------

    async def _disconnected(self) -> None:
        if self._stopping:
            return
        self._disconnected_at = time.monotonic()
        logger.warning("lost the connection to NATS; reconnecting (giving up after %g s)", self.patience)
        self._tasks.append(asyncio.create_task(self._give_up_unless_back(), name="wait for NATS"))

    async def _give_up_unless_back(self) -> None:
        await asyncio.sleep(self.patience)
        if self._disconnected_at is not None and not self._stopping:
            self._give_up(f"no NATS server answered for {self.patience:g} s")

    async def _reconnected(self) -> None:
        self._disconnected_at = None
        assert self._connection is not None
        url = self._connection.connected_url
        logger.warning("connected to NATS again (%s); reading what was missed", url.netloc if url else "?")
        self._state_changed.set()
        self._tasks.append(asyncio.create_task(self._read_missed_history(), name="read the history again"))

    async def _read_missed_history(self) -> None:
        """After a reconnection: what the other nodes said meanwhile is in the stream (not sent live again)."""
        try:
            await self._load_history(hold_live=False)
        except (TimeoutError, nats.errors.Error) as error:
            logger.warning("could not read the history again: %s", describe(error))

    async def _closed(self) -> None:
        if not self._stopping:
            self._give_up("the connection to NATS was closed")

    def _give_up(self, reason: str) -> None:
        """The node cannot go on as part of the cluster: tell whoever runs it (``lost``)."""
        if not self.lost.is_set():
            self.lost_reason = reason
            logger.error("leaving the cluster: %s", reason)
            self.lost.set()


def describe(error: BaseException) -> str:
    """A NATS or socket error in a few words, for a one-line message."""
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error).strip()
    if not text or text == "nats: timeout":
        return "no answer in time" if isinstance(error, TimeoutError) else type(error).__name__
    return text.removeprefix("nats: ")
