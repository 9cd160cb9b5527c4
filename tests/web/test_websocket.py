"""The web front's WebSocket without a browser: the same frames and rules as TCP, over aiohttp's client."""

from __future__ import annotations

import asyncio
import logging
import random
import re
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from chatlib.app.protocol import (
    Announcement,
    Closing,
    EnterRoom,
    Error,
    ErrorCode,
    Hello,
    Message,
    RoomEntered,
    Say,
    encode,
    wording,
)
from chatlib.app.server.limits import ServerLimits
from chatlib.app.web.front import MAX_MESSAGE_BYTES, WEBSOCKET_PATH, WebFront
from tests.app.conftest import TIMEOUT, FrameClient
from tests.app.image_samples import encoded
from tests.web.conftest import StartWebChat, WebChat
from tests.web.web_client import WebFrameClient


async def next_message(client: FrameClient) -> Message:
    """The next frame, which must be a MESSAGE."""
    frame = await client.next_frame()
    assert isinstance(frame, Message), frame
    return frame


async def next_announcement(client: FrameClient) -> str:
    """The text of the next frame, which must be an ANNOUNCE."""
    frame = await client.next_frame()
    assert isinstance(frame, Announcement), frame
    return frame.text


async def test_a_browser_and_a_terminal_chat_in_a_room(web_chat: WebChat) -> None:
    carol = await web_chat.tcp("carol", "jeux")
    alice = await web_chat.web("alice", "jeux")
    assert await next_announcement(carol) == wording.joined("alice")
    await alice.say("bonjour du navigateur")
    said = await next_message(carol)
    assert alice.welcome is not None
    assert (said.pseudo, said.color, said.text) == ("alice", alice.welcome.color, "bonjour du navigateur")
    await carol.say("bonjour du terminal")
    heard = await next_message(alice)
    assert (heard.pseudo, heard.text) == ("carol", "bonjour du terminal")
    await alice.close()
    assert await next_announcement(carol) == wording.left("alice")


async def test_the_stream_may_be_cut_anywhere_across_messages(web_chat: WebChat) -> None:
    carol = await web_chat.tcp("carol", "jeux")
    alice = await web_chat.web()
    stream = encode(Hello("alice")) + encode(EnterRoom("jeux")) + encode(Say("un")) + encode(Say("deux"))
    for start in range(0, len(stream), 3):  # three bytes a message: headers and payloads cut in two
        await alice.send_raw(stream[start : start + 3])
    assert await next_announcement(carol) == wording.joined("alice")
    assert [(await next_message(carol)).text for _ in range(2)] == ["un", "deux"]


async def test_a_text_message_breaks_the_stream_like_a_malformed_frame(web_chat: WebChat) -> None:
    carol = await web_chat.tcp("carol", "jeux")
    alice = await web_chat.web("alice", "jeux")
    await alice.websocket.send_str("salut")
    frames = await alice.expect_closed()
    assert frames[-1] == Error(ErrorCode.BAD_FRAME, "the chat's WebSocket carries binary messages only")
    assert await next_announcement(carol) == wording.joined("alice")
    assert await next_announcement(carol) == wording.left("alice")


async def test_a_message_over_the_size_limit_closes_the_connection(web_chat: WebChat) -> None:
    alice = await web_chat.web("alice", "jeux")
    await alice.send_raw(b"\x00" * (MAX_MESSAGE_BYTES + 1))
    await alice.expect_closed()
    assert alice.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    assert web_chat.server.connection_count == 0


async def test_an_image_larger_than_a_message_arrives_in_pieces(web_chat: WebChat) -> None:
    carol = await web_chat.tcp("carol", "jeux")
    alice = await web_chat.web("alice", "jeux")
    assert await next_announcement(carol) == wording.joined("alice")
    noise = random.Random(7).randbytes(200 * 150 * 3)  # random pixels do not compress: a 90 KB PNG
    image = encoded(Image.frombytes("RGB", (200, 150), noise), "PNG")
    frame = bytes((0x04, 4)) + len(image).to_bytes(4, "big") + image
    assert len(frame) > MAX_MESSAGE_BYTES
    for start in range(0, len(frame), MAX_MESSAGE_BYTES):
        await alice.send_raw(frame[start : start + MAX_MESSAGE_BYTES])
    received = await carol.next_frame()
    assert getattr(received, "data", None) == image


@pytest.mark.parametrize(
    ("origin", "allowed", "accepted"),
    [
        ("http://evil.example", (), False),
        ("null", (), False),
        ("http://class.example.org", ("https://class.example.org",), False),
        ("https://class.example.org", ("https://class.example.org",), True),
        ("https://anything.example", ("*",), True),
        (None, (), True),  # not a browser: it could use TCP as well
    ],
)
async def test_pages_of_other_origins_are_refused(
    start_web_chat: StartWebChat, origin: str | None, allowed: tuple[str, ...], accepted: bool
) -> None:
    chat = await start_web_chat(origins=allowed)
    host, port = chat.web_address
    headers = {"Origin": origin} if origin is not None else {}
    async with aiohttp.ClientSession() as session:
        if accepted:
            async with session.ws_connect(f"http://{host}:{port}{WEBSOCKET_PATH}", headers=headers) as websocket:
                await websocket.send_bytes(encode(Hello("alice")))
                reply = await websocket.receive(timeout=TIMEOUT)
                assert reply.type is aiohttp.WSMsgType.BINARY
        else:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refusal:
                await session.ws_connect(f"http://{host}:{port}{WEBSOCKET_PATH}", headers=headers)
            assert refusal.value.status == 403


async def test_the_page_own_origin_is_accepted(web_chat: WebChat) -> None:
    alice = await web_chat.web("alice", origin=web_chat.page_origin)
    assert alice.welcome is not None and alice.welcome.pseudo == "alice"


async def test_connections_per_address_are_counted_with_tcp_by_the_real_address(
    start_web_chat: StartWebChat,
) -> None:
    chat = await start_web_chat(ServerLimits(max_connections_per_ip=2))
    await chat.tcp("carol")
    await chat.web("alice")  # 127.0.0.1 has its two connections
    refusal = Error(ErrorCode.SERVER_FULL, "too many connections from 127.0.0.1 (at most 2)")
    third = await WebFrameClient.connect_web(*chat.web_address)
    chat.clients.append(third)
    assert await third.expect_closed() == [refusal]
    forwarded = await connect_web_from(chat, "127.0.0.1", {"X-Forwarded-For": "10.1.2.3"})
    assert await forwarded.expect_closed() == [refusal]  # a header cannot pass for another address
    over_tcp = await FrameClient.connect(*chat.tcp_address)
    chat.clients.append(over_tcp)
    assert await over_tcp.expect_closed() == [refusal]
    from_elsewhere = await connect_web_from(chat, "127.0.0.2")
    await from_elsewhere.hello("bob")  # another address, counted apart


async def test_connections_in_all_are_counted_with_tcp(start_web_chat: StartWebChat) -> None:
    chat = await start_web_chat(ServerLimits(max_connections=2))
    await chat.web("alice")
    await chat.tcp("carol")
    full = Error(ErrorCode.SERVER_FULL, "the server is full (2 connections)")
    for client in (await WebFrameClient.connect_web(*chat.web_address), await FrameClient.connect(*chat.tcp_address)):
        chat.clients.append(client)
        assert await client.expect_closed() == [full]


async def connect_web_from(chat: WebChat, local_address: str, headers: dict[str, str] | None = None) -> WebFrameClient:
    """A WebSocket client whose connection comes from ``local_address`` (127.0.0.2... on loopback)."""
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(local_address, 0)))
    host, port = chat.web_address
    async with asyncio.timeout(TIMEOUT):
        websocket = await session.ws_connect(
            f"http://{host}:{port}{WEBSOCKET_PATH}", headers={"Origin": chat.page_origin, **(headers or {})}
        )
    client = WebFrameClient(session, websocket)
    chat.clients.append(client)
    return client


async def test_a_browser_that_stops_reading_is_dropped_and_the_room_goes_on(
    start_web_chat: StartWebChat, caplog: pytest.LogCaptureFixture
) -> None:
    limits = ServerLimits(rate_limit=None, max_queued_bytes=256 * 1024, close_grace=0.3)
    chat = await start_web_chat(limits)
    sleeper = await chat.web("sleeper", "flood")  # reads nothing from now on: aiohttp stops at 64 KiB
    reader = await chat.web("reader", "flood")
    flooder = await chat.tcp("flooder", "flood")
    assert await next_announcement(reader) == wording.joined("flooder")
    received: list[str] = []

    async def read_all() -> None:
        while True:
            frame = await reader.next_frame(timeout=3 * TIMEOUT)
            if isinstance(frame, Message):
                received.append(frame.text)
            elif isinstance(frame, Announcement) and frame.text == wording.left("sleeper"):
                return

    reading = asyncio.create_task(read_all())
    sent = 0
    with caplog.at_level(logging.WARNING, logger="chatlib.app.server"):
        while not reading.done() and sent < 8000:  # 32 MB at most: far over the sleeper's bounds
            await flooder.send_raw(b"".join(encode(Say(f"{sent + i} " + "x" * 4000)) for i in range(50)))
            sent += 50
            await asyncio.sleep(0)
        async with asyncio.timeout(3 * TIMEOUT):
            await reading
    assert any("dropping sleeper" in record.getMessage() for record in caplog.records)
    await flooder.say("encore là")
    while (message := await next_message(reader)).text != "encore là":
        received.append(message.text)
    assert [int(text.split()[0]) for text in received] == list(range(sent))  # all of it, in order


async def test_a_browser_that_reads_late_gets_everything_in_order(start_web_chat: StartWebChat) -> None:
    chat = await start_web_chat(ServerLimits(rate_limit=None, max_queued_bytes=64 * 1024 * 1024))
    late_reader = await chat.web("late", "flood")
    flooder = await chat.tcp("flooder", "flood")
    assert await next_announcement(late_reader) == wording.joined("flooder")
    count = 4000  # 16 MB: more than the socket buffers, so the server keeps a backlog and drains it
    await flooder.send_raw(b"".join(encode(Say(f"{number} " + "x" * 4000)) for number in range(count)))
    await flooder.sync()
    numbers = [int((await next_message(late_reader)).text.split()[0]) for _ in range(count)]
    assert numbers == list(range(count))


async def test_stopping_the_server_tells_the_browsers(web_chat: WebChat) -> None:
    alice = await web_chat.web("alice", "jeux")
    await web_chat.server.stop()
    assert await alice.expect_closed() == [Closing("server shutting down")]
    late = await WebFrameClient.connect_web(*web_chat.web_address)  # the web front still listens...
    web_chat.clients.append(late)
    assert await late.expect_closed() == [Closing("server shutting down")]  # ...but lets nobody in


async def test_the_page_and_its_files_come_with_security_headers(web_chat: WebChat) -> None:
    host, port = web_chat.web_address
    async with aiohttp.ClientSession() as session:
        for path, content_type in [
            ("/", "text/html; charset=utf-8"),
            ("/static/chat.js", "text/javascript; charset=utf-8"),
            ("/static/protocol.js", "text/javascript; charset=utf-8"),
            ("/static/style.css", "text/css; charset=utf-8"),
        ]:
            async with session.get(f"http://{host}:{port}{path}") as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == content_type
                policy = response.headers["Content-Security-Policy"]
                assert "script-src 'self';" in policy and "unsafe-inline" not in policy
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                assert response.headers["X-Frame-Options"] == "DENY"
        for path in ("/static/front.py", "/static/../front.py", "/static/%2e%2e/front.py", "/index.html"):
            async with session.get(f"http://{host}:{port}{path}") as response:
                assert response.status == 404, path


async def test_the_page_has_no_inline_script_or_style(web_chat: WebChat) -> None:
    host, port = web_chat.web_address
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://{host}:{port}/") as response:
            page = await response.text()
    assert "<script>" not in page and "style=" not in page
    assert not re.search(r"\son[a-z]+=", page)  # no onclick=... either
    assert '<script type="module" src="/static/chat.js"></script>' in page


async def test_a_browser_can_change_room_and_tcp_users_hear_it(web_chat: WebChat) -> None:
    carol = await web_chat.tcp("carol", "general")
    alice = await web_chat.web("alice", "jeux")
    await alice.send(EnterRoom("general"))
    assert await alice.next_frame() == RoomEntered("general")
    assert await next_announcement(carol) == wording.arrived_from("alice", "jeux")


async def test_with_the_servers_certificate_the_page_and_its_websocket_use_tls(
    web_chat: WebChat, tmp_path: Path
) -> None:
    from chatlib.app.server.tls import make_self_signed, server_context

    secure_front = WebFront(web_chat.server)
    await secure_front.start("127.0.0.1", 0, server_context(*make_self_signed(tmp_path / "tls", ["127.0.0.1"])))
    try:
        host, port = secure_front.address or ("", 0)
        carol = await web_chat.tcp("carol", "jeux")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"https://{host}:{port}/", ssl=False) as page:
                assert page.status == 200
            async with session.ws_connect(
                f"wss://{host}:{port}{WEBSOCKET_PATH}", ssl=False, headers={"Origin": f"https://{host}:{port}"}
            ) as websocket:
                await websocket.send_bytes(encode(Hello("alice")) + encode(EnterRoom("jeux")))
                assert await next_announcement(carol) == wording.joined("alice")
    finally:
        await secure_front.stop()
