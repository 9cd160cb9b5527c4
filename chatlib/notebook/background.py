"""Run the course's chat servers and clients as background tasks of a notebook's event loop.

In Jupyter the kernel's event loop keeps running between cells, so a server started with
``server = await serve_in_background(start_server, HOST, PORT)`` goes on serving while the
student runs other cells and chats from terminals. The cell that starts it shows what starting
printed (``Serving on 127.0.0.1:8888``); what the server prints later, for its connections, is
kept in ``server.lines`` and shown when asked: ``server.print_lines()`` (everything so far) or
``server.print_new_lines()`` (what came since the last time), so each cell's output shows what
that cell did. Running the starting cell again replaces the server on the same address;
``await server.stop()`` stops it, and ``await stop_all()`` (the notebook's last cell) stops every
server and client left. A port already taken raises ``PortInUse``, one line saying by whom.

``start_client`` does the same for a stage's ``run_client``: the lines it would read from the
keyboard come from ``client.type(...)`` and the lines it shows are kept in ``client.lines``.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from chatlib.notebook.ports import PortInUse, is_address_in_use

Show = Callable[[str], None]
ServerFactory = Callable[[str, int, Show], Awaitable[asyncio.Server]]
ClientCoroutine = Callable[..., Coroutine[Any, Any, None]]

DEFAULT_HOST = "127.0.0.1"
MAX_SHOWN_CHARACTERS = 160  # a longer line is printed cut in the middle, with how much was left out
STOP_TIMEOUT = 5.0

_SERVERS: dict[tuple[str, int], BackgroundServer] = {}
_CLIENTS: set[BackgroundClient] = set()

# The set of tasks a background server's connections run in, visible only inside that server.
_CONNECTION_TASKS: contextvars.ContextVar[set[asyncio.Task[Any]] | None] = contextvars.ContextVar(
    "_CONNECTION_TASKS", default=None
)


class LiveText:
    """The lines a background program showed, kept to be printed when asked.

    A line added by the code that created the object (the cell that starts a server, say) is
    printed at once, under that cell; a line added from elsewhere (a connection's task, while
    later cells run or while nothing runs) is only kept, so that it never lands under an
    unrelated cell.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self.lines: list[str] = []
        self._not_shown: list[str] = []  # kept lines that no cell has printed yet
        self._changed = asyncio.Event()
        self._creator = _current_task()

    def add(self, line: str) -> None:
        """Keep a line; print it too if it comes from the code that created this object."""
        self.lines.append(line)
        self._changed.set()
        if self._creator is not None and _current_task() is self._creator:
            _print([line])
        else:
            self._not_shown.append(line)

    def announce(self, line: str) -> None:
        """Keep a line and print it under the cell running now: something that cell did."""
        self.lines.append(line)
        self._changed.set()
        _print([line])

    def print_lines(self) -> None:
        """Print every line so far (what a terminal running this program would show)."""
        _print(self.lines)
        self._not_shown.clear()

    def print_new_lines(self) -> None:
        """Print the lines no cell has printed yet: what happened since the last look."""
        if not self._not_shown:
            print(f"({self.title}: nothing new)")
        _print(self._not_shown)
        self._not_shown.clear()

    async def wait_for(self, line: str, timeout: float = 5.0) -> None:
        """Wait until exactly `line` has been shown; TimeoutError after `timeout` seconds."""
        await self.wait_until(lambda lines: line in lines, timeout)

    async def wait_until(self, condition: Callable[[list[str]], bool], timeout: float = 5.0) -> None:
        """Wait until `condition(lines)` holds; TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while not condition(self.lines):
                self._changed.clear()
                await self._changed.wait()


def _print(lines: list[str]) -> None:
    """Print lines, each shortened if very long."""
    if lines:
        print("\n".join(shorten(line) for line in lines), flush=True)


def shorten(line: str, limit: int = MAX_SHOWN_CHARACTERS) -> str:
    """`line`, cut in the middle when longer than `limit`, saying how many characters were left out."""
    if len(line) <= limit:
        return line
    kept = limit // 2
    return f"{line[:kept]}[...{len(line) - 2 * kept} more characters...]{line[-kept:]}"


def _current_task() -> asyncio.Task[Any] | None:
    """The task running now, or None outside a running event loop."""
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


class BackgroundServer(LiveText):
    """A chat server serving in the background; its console lines are kept in `lines`."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"Server {host}:{port} console")
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    async def start(self, start_server: ServerFactory) -> None:
        """Start the server and print what it printed while starting.

        Every task its connections create is recorded, so that `stop` can end them.
        """
        _install_connection_tracking()
        context = contextvars.copy_context()
        context.run(_CONNECTION_TASKS.set, self._connections)
        starting = asyncio.get_running_loop().create_task(
            start_server(self.host, self.port, self.add), context=context
        )
        try:
            self._server = await starting
        except OSError as error:
            if is_address_in_use(error):
                raise PortInUse(self.host, self.port) from None
            raise
        if self._not_shown:
            self.print_new_lines()  # what starting printed ("Serving on ..."), under the starting cell
        self.port = self._server.sockets[0].getsockname()[1]
        self.title = f"Server {self.host}:{self.port} console"

    async def stop(self) -> None:
        """Stop listening and end every connection, so that nothing lingers."""
        if self._server is None:
            return
        server, self._server = self._server, None
        _SERVERS.pop((self.host, self.port), None)
        server.close()
        connections = list(self._connections)
        for task in connections:
            task.cancel()  # each handler closes its writer in its `finally`
        if connections:
            await asyncio.wait(connections, timeout=STOP_TIMEOUT)
        await server.wait_closed()
        self.announce("Server stopped.")


class BackgroundClient(LiveText):
    """A chat client run from code: `type` gives it lines to send, `lines` is what it showed."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name}'s screen")
        self.name = name
        self.error: BaseException | None = None
        self._typed: asyncio.Queue[str | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def read_line(self, prompt: str) -> str:
        """What the client reads instead of the keyboard: the next typed line (EOFError on `leave`)."""
        line = await self._typed.get()
        if line is None:
            raise EOFError
        return line

    def type(self, line: str) -> None:
        """Type a line into the client, as a user would, followed by Enter."""
        self._typed.put_nowait(line)

    def start(self, run_client: ClientCoroutine, host: str, port: int, **options: Any) -> None:
        """Run `run_client(host, port, ..., read_line=..., show=...)` as a background task."""
        coroutine = run_client(host, port, read_line=self.read_line, show=self.add, **options)
        self._task = asyncio.get_running_loop().create_task(coroutine)
        self._task.add_done_callback(self._record_end)

    def _record_end(self, task: asyncio.Task[None]) -> None:
        """Keep how the client ended (Ctrl+D, the server gone...) instead of a lost exception."""
        _CLIENTS.discard(self)
        if not task.cancelled():
            self.error = task.exception()

    @property
    def running(self) -> bool:
        """Whether the client is still connected and running."""
        return self._task is not None and not self._task.done()

    async def wait_until_stopped(self, timeout: float = 5.0) -> None:
        """Wait for the client to end on its own (for instance when the server goes away)."""
        if self._task is not None:
            await asyncio.wait([self._task], timeout=timeout)

    async def leave(self) -> None:
        """End the client as Ctrl+D would, and wait for it to be gone."""
        if self._task is None:
            return
        self._typed.put_nowait(None)
        await asyncio.wait([self._task], timeout=STOP_TIMEOUT)
        self._task.cancel()


async def serve_in_background(
    start_server: ServerFactory, host: str = DEFAULT_HOST, port: int = 8888
) -> BackgroundServer:
    """Start a stage's server in the background, replacing one already started on that address."""
    previous = _SERVERS.get((host, port))
    if previous is not None:
        await previous.stop()
    server = BackgroundServer(host, port)
    await server.start(start_server)
    _SERVERS[(host, server.port)] = server
    return server


async def start_client(
    run_client: ClientCoroutine, name: str, host: str = DEFAULT_HOST, port: int = 8888, **options: Any
) -> BackgroundClient:
    """Start a stage's client in the background (options such as `pseudo=` are passed on)."""
    client = BackgroundClient(name)
    client.start(run_client, host, port, **options)
    _CLIENTS.add(client)
    return client


async def stop_all() -> None:
    """Stop every background client and server: the last cell of a notebook."""
    for client in list(_CLIENTS):
        await client.leave()
    for server in list(_SERVERS.values()):
        await server.stop()


async def _end_quietly_when_stopped(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a connection's coroutine; being cancelled by `stop` is a normal end, not an error.

    (Python 3.11's `asyncio.start_server` logs a traceback for a handler task that ends cancelled.)
    """
    try:
        return await coroutine
    except asyncio.CancelledError:
        return None


def _install_connection_tracking() -> None:
    """Make the running loop record each task created inside a background server's context.

    The tasks that serve a server's connections are created by asyncio, inside the context
    in which the server was started; Python 3.11's `asyncio.Server` cannot close its clients
    (3.12 added `close_clients`), so this is how `stop` finds them.
    """
    loop = asyncio.get_running_loop()
    previous_factory = loop.get_task_factory()
    if getattr(previous_factory, "tracks_connections", False):
        return

    def task_factory(loop: asyncio.AbstractEventLoop, coroutine: Any, **options: Any) -> asyncio.Task[Any]:
        connections = _CONNECTION_TASKS.get()
        if connections is not None:
            coroutine = _end_quietly_when_stopped(coroutine)
        if previous_factory is None:
            task = asyncio.Task(coroutine, loop=loop, **options)
        else:
            task = previous_factory(loop, coroutine, **options)
        if connections is not None:
            connections.add(task)
            task.add_done_callback(connections.discard)
        return task

    task_factory.tracks_connections = True  # type: ignore[attr-defined]
    loop.set_task_factory(task_factory)
