"""TLS: the client checks who the server is before it sends anything, its token included.

The attack: while the real server is down, a fake one takes its address and waits for a
returning client's token. Over TLS, the client pins the real server's certificate the first
time (or verifies it with a CA) and refuses any other, before a single frame goes out.
"""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from chatlib.app.client.display import ChatLine, LineKind
from chatlib.app.client.server_pins import ClientTls, ServerIdentityError, ServerPins
from chatlib.app.client.session import run_session
from chatlib.app.client.session_io import SessionEnd, SessionError
from chatlib.app.client.tokens import TokenStore
from chatlib.app.protocol import Error, ErrorCode, encode
from chatlib.app.server.chat_server import ChatServer
from chatlib.app.server.persistence import HISTORY_FILE
from chatlib.app.server.storage import read_json_lines
from chatlib.app.server.tls import CERT_FILE, KEY_FILE, file_fingerprint, make_self_signed, server_context
from tests.app.client_fixtures import ScriptedUser
from tests.server_process import STOP_TIMEOUT, server_process

TIMEOUT = 10.0
# What a plain chat server answers to a TLS ClientHello, which it reads as a bad frame
FAKE_GREETING = encode(Error(ErrorCode.BAD_FRAME, "unknown frame type 0x16"))


@pytest.fixture(scope="module")
def real_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The real server's self-signed certificate and key."""
    return make_self_signed(tmp_path_factory.mktemp("real"))


@pytest.fixture(scope="module")
def fake_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Another self-signed certificate, for the same names: what an impostor can make."""
    return make_self_signed(tmp_path_factory.mktemp("fake"))


class FakeServer:
    """Listens where the real server was, and keeps every byte a client sends it."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.client_gone = asyncio.Event()  # a client connected, then closed

    async def _keep(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.write(FAKE_GREETING)
        try:
            while data := await reader.read(65536):
                self.received += data
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
            self.client_gone.set()


@asynccontextmanager
async def fake_server(port: int, cert: tuple[Path, Path] | None) -> AsyncIterator[FakeServer]:
    """A fake server on 127.0.0.1:``port``, over TLS with ``cert`` or plain TCP."""
    fake = FakeServer()
    context = server_context(*cert) if cert else None
    fake.server = await asyncio.start_server(fake._keep, "127.0.0.1", port, ssl=context)
    try:
        yield fake
    finally:
        fake.server.close()
        await fake.server.wait_closed()


async def chat_once(port: int, user: ScriptedUser, state_dir: Path, tls: ClientTls | None) -> SessionEnd:
    """alice logs in (with her token, if she has one), says hello in general and leaves."""
    tokens = TokenStore.in_state_dir(state_dir).for_server("127.0.0.1", port)
    user.type("hello")
    user.end_input()
    async with asyncio.timeout(TIMEOUT):
        return await run_session(
            "127.0.0.1", port, user.io(), pseudo="alice", room="general", tokens=tokens, tls=tls
        )


def pinning(state_dir: Path, user: ScriptedUser) -> ClientTls:
    """TLS that pins the server's certificate in ``state_dir``, first pinning shown to ``user``."""
    return ClientTls(
        ServerPins.in_state_dir(state_dir), announce=lambda text: user.show(ChatLine(LineKind.NOTICE, text))
    )


async def test_the_client_pins_the_certificate_and_a_fake_server_with_another_gets_nothing(
    tmp_path: Path, real_cert: tuple[Path, Path], fake_cert: tuple[Path, Path]
) -> None:
    state_dir = tmp_path / "state"
    server = ChatServer(data_dir=tmp_path / "data")
    _, port = await server.start("127.0.0.1", 0, server_context(*real_cert))
    first = ScriptedUser(interactive=False)
    assert await chat_once(port, first, state_dir, pinning(state_dir, first)) is SessionEnd.LEFT
    fingerprint = file_fingerprint(real_cert[0])
    assert first.texts(LineKind.NOTICE)[0] == (
        f"* First TLS connection to 127.0.0.1:{port}: its certificate is {fingerprint}. Pinned in "
        f"{state_dir / 'known_servers.json'}; if the server's owner says otherwise, stop now."
    )
    await server.stop()

    async with fake_server(port, fake_cert) as fake:
        victim = ScriptedUser(interactive=False)
        with pytest.raises(ServerIdentityError) as refusal:
            await chat_once(port, victim, state_dir, pinning(state_dir, victim))
        async with asyncio.timeout(TIMEOUT):
            await fake.client_gone.wait()
    assert str(refusal.value).startswith(
        f"REFUSED: the certificate of 127.0.0.1:{port} has changed: it is {file_fingerprint(fake_cert[0])}, "
        f"but {fingerprint} was pinned."
    )
    assert fake.received == b""  # after the handshake, not one byte: no HELLO, no token

    server = ChatServer(data_dir=tmp_path / "data")
    await server.start("127.0.0.1", port, server_context(*real_cert))
    back = ScriptedUser(interactive=False)
    assert await chat_once(port, back, state_dir, pinning(state_dir, back)) is SessionEnd.LEFT
    assert "Welcome back alice !" in back.texts()
    assert not any("First TLS connection" in text for text in back.texts())
    await server.stop()


async def test_a_plain_fake_server_gets_nothing_from_a_client_that_pinned(
    tmp_path: Path, real_cert: tuple[Path, Path]
) -> None:
    state_dir = tmp_path / "state"
    token_store = TokenStore.in_state_dir(state_dir)
    async with fake_server(0, None) as fake:
        assert fake.server is not None
        port = fake.server.sockets[0].getsockname()[1]
        token_store.remember("127.0.0.1", port, "alice", "s" * 32)
        ServerPins.in_state_dir(state_dir).pin("127.0.0.1", port, file_fingerprint(real_cert[0]))
        done = await asyncio.to_thread(
            run_client_command, tmp_path, port, "--state-dir", str(state_dir)
        )  # no --tls: a downgrade
        assert done.returncode == 1
        assert f"REFUSED: 127.0.0.1:{port} was reached over TLS before" in done.stderr
        assert fake.connections == 0
        done = await asyncio.to_thread(
            run_client_command, tmp_path, port, "--state-dir", str(state_dir), "--tls"
        )
        assert done.returncode == 1
        assert "the TLS handshake failed" in done.stderr
    assert b"s" * 32 not in fake.received and b"alice" not in fake.received
    assert fake.received.startswith(b"\x16\x03")  # a TLS ClientHello, then nothing


async def test_a_certificate_verified_by_its_ca(
    tmp_path: Path, real_cert: tuple[Path, Path], fake_cert: tuple[Path, Path]
) -> None:
    server = ChatServer()
    _, port = await server.start("127.0.0.1", 0, server_context(*real_cert))
    try:
        user = ScriptedUser(interactive=False)
        pins = ServerPins.in_state_dir(tmp_path)
        ca_verified = ClientTls(pins, ca=str(real_cert[0]))
        assert await chat_once(port, user, tmp_path, ca_verified) is SessionEnd.LEFT
        assert not pins.path.exists()  # verified, not pinned
        with pytest.raises(
            ServerIdentityError, match=f"^REFUSED: the certificate of 127.0.0.1:{port} cannot"
        ):
            await chat_once(
                port, ScriptedUser(interactive=False), tmp_path, ClientTls(pins, ca=str(fake_cert[0]))
            )
    finally:
        await server.stop()


def run_client_command(tmp_path: Path, port: int, *options: str) -> subprocess.CompletedProcess[str]:
    """``chat-client`` in scripted mode as alice in general, saying ``bonjour``."""
    command = [sys.executable, "-m", "chatlib.app.client", "-p", str(port), "--pseudo", "alice"]
    command += ["--room", "general", "--log-dir", str(tmp_path / "client-logs"), *options]
    env = os.environ | {"XDG_CONFIG_HOME": str(tmp_path / "no-config"), "XDG_STATE_HOME": str(tmp_path)}
    return subprocess.run(
        command, input="bonjour\n", capture_output=True, text=True, timeout=30, cwd=tmp_path, env=env
    )


async def test_the_commands_over_tls_with_a_made_certificate(tmp_path: Path) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "chatlib.app.server", "--make-cert", str(tmp_path / "tls")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert made.returncode == 0, made.stderr
    cert, key = tmp_path / "tls" / CERT_FILE, tmp_path / "tls" / KEY_FILE
    assert f"fingerprint: {file_fingerprint(cert)}" in made.stdout.splitlines()
    if sys.platform != "win32":
        assert key.stat().st_mode & 0o777 == 0o600
    config = tmp_path / "server.env"
    config.write_text(f"TLS_CERT={cert}\nTLS_KEY={key}\n")
    async with server_process(tmp_path, "--config", str(config)) as (process, port):
        done = await asyncio.to_thread(run_client_command, tmp_path, port, "--tls")
        assert done.returncode == 0, done.stderr
        assert f"its certificate is {file_fingerprint(cert)}" in done.stderr
        process.send_signal(signal.SIGTERM)  # stopped cleanly, it saves the history
        assert process.wait(timeout=STOP_TIMEOUT) == 0
    saved = [record["text"] for record in read_json_lines(tmp_path / "data" / HISTORY_FILE)]
    assert "bonjour" in saved


@pytest.mark.parametrize(
    ("options", "status", "message"),
    [
        (["--tls-cert", "x.crt"], 2, "--tls-cert and --tls-key (TLS_CERT and TLS_KEY) go together"),
        (["--tls-cert", "x.crt", "--tls-key", "x.key"], 1, "chat-server: cannot use the certificate x.crt"),
    ],
)
def test_the_server_refuses_an_unusable_certificate(
    tmp_path: Path, options: list[str], status: int, message: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chatlib.app.server", "--port", "0", "--data-dir", str(tmp_path), *options],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
        env=os.environ | {"XDG_CONFIG_HOME": str(tmp_path / "no-config")},
    )
    assert done.returncode == status
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_an_existing_certificate_is_never_replaced(tmp_path: Path, real_cert: tuple[Path, Path]) -> None:
    from chatlib.app.server.tls import TlsSetupError

    with pytest.raises(TlsSetupError, match="already exists: clients that pinned it would refuse a new one"):
        make_self_signed(real_cert[0].parent)


def test_a_session_error_names_what_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "known_servers.json").write_text("[1]")
    with pytest.raises(SessionError, match="is not a JSON object of pinned certificates"):
        ServerPins.in_state_dir(tmp_path).pinned("127.0.0.1", 8888)
