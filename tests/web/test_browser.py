"""The chat page in a real browser (headless Chromium) with ``chat-server`` and ``chat-client`` running.

Skipped, with the reason, where no Chromium is installed (see tests/web/browser.py).
"""

from __future__ import annotations

import re
from pathlib import Path

from chatlib.app.protocol import wording
from chatlib.app.server.colors import PALETTE
from chatlib.app.shared.sample_image import write_sample_png
from tests.web.browser import ServerProcess
from tests.web.chat_page import ChatPage
from tests.web.conftest import OpenPage, StartTerminal

HISTORY_START, HISTORY_END = "--- history ---", "--- now ---"
CLOCK = re.compile(r"\[\d\d:\d\d\]")


def css_rgb(color: str) -> str:
    """A #rrggbb color as the browser's computed style gives it: rgb(r, g, b)."""
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def test_two_pages_and_a_terminal_chat_in_a_room(open_page: OpenPage, terminal: StartTerminal) -> None:
    carol = terminal("carol", "jeux")
    carol.wait_for(wording.joined("carol"))
    alice, bob = open_page(), open_page()
    alice.log_in("alice")
    assert alice.page.inner_text("#room-list").split("\n") == ["general", "empty", "jeux", "1 person"]
    alice.enter_room("jeux")
    bob.log_in("bob")
    bob.enter_room("jeux")
    alice.wait_for_line(wording.joined("bob"))
    carol.wait_for(wording.joined("bob"))

    alice.type("salut tout le monde")
    alice.wait_for_line(wording.you_said("salut tout le monde"))
    bob.wait_for_line(wording.said("alice", "salut tout le monde"))
    carol.wait_for(wording.said("alice", "salut tout le monde"))
    carol.type("bonjour les navigateurs")
    for page in (alice, bob):
        page.wait_for_line(wording.said("carol", "bonjour les navigateurs"))

    said = bob.page.locator("#lines li.message", has_text="salut tout le monde")
    assert CLOCK.fullmatch(said.locator("time").inner_text())
    pseudo_color = said.locator(".pseudo").evaluate("(name) => getComputedStyle(name).color")
    assert pseudo_color in {css_rgb(color) for color in PALETTE}
    assert alice.page.inner_text("#who") == "alice" and alice.page.inner_text("#room-name") == "jeux"

    bob.type("/join general")
    bob.wait_for_line("You are now in room general.")
    alice.wait_for_line(wording.moved_to("bob", "general"))
    carol.wait_for(wording.moved_to("bob", "general"))
    alice.type("/quit")
    alice.page.wait_for_selector("#left:not([hidden])")
    carol.wait_for(wording.left("alice"))
    assert alice.dialogs == bob.dialogs == []


def test_entering_a_room_shows_its_history(open_page: OpenPage, terminal: StartTerminal) -> None:
    carol = terminal("carol", "jeux")
    carol.type("premier")
    carol.type("deuxième")
    carol.wait_for(wording.you_said("deuxième"))
    alice = open_page()
    alice.log_in("alice")
    alice.enter_room("jeux")
    alice.wait_for_line(wording.joined("alice"))
    assert alice.lines() == [
        "You are in room jeux. Type /help for the commands.",
        HISTORY_START,
        wording.joined("carol"),
        wording.said("carol", "premier"),
        wording.said("carol", "deuxième"),
        HISTORY_END,
        wording.joined("alice"),
    ]


def test_a_reload_brings_welcome_back(open_page: OpenPage, terminal: StartTerminal) -> None:
    carol = terminal("carol", "jeux")
    alice = open_page()
    alice.log_in("alice")
    alice.enter_room("jeux")
    alice.type("avant")
    carol.wait_for(wording.said("alice", "avant"))
    alice.page.reload()
    alice.wait_for_line(wording.welcome_back("alice"))
    alice.wait_for_line("You are in room jeux. Type /help for the commands.")
    carol.wait_for(wording.is_back("alice"))
    assert alice.lines()[:2] == [wording.welcome_back("alice"), "You are in room jeux. Type /help for the commands."]
    assert wording.you_said("avant") in alice.lines()  # from the history: one's own message, as said
    alice.type("après")
    carol.wait_for(wording.said("alice", "après"))


def test_an_image_from_the_terminal_appears_as_an_image(
    open_page: OpenPage, terminal: StartTerminal, tmp_path: Path
) -> None:
    alice = open_page()
    alice.log_in("alice")
    alice.enter_room("jeux")
    carol = terminal("carol", "jeux")
    alice.wait_for_line(wording.joined("carol"))
    carol.type(f"/image {write_sample_png(tmp_path / 'bubble.png')}")
    alice.wait_for_line("carol sent an image")
    picture = alice.page.locator("#lines li.image img")
    picture.wait_for()
    alice.page.wait_for_function("() => document.querySelector('#lines li.image img').complete")
    shown = picture.evaluate("(image) => [image.src, image.naturalWidth, image.alt]")
    assert shown[0].startswith("blob:") and shown[1] > 0 and shown[2] == "image from carol"


def test_an_image_from_the_page_reaches_the_terminal(
    open_page: OpenPage, terminal: StartTerminal, tmp_path: Path
) -> None:
    alice = open_page()
    alice.log_in("alice")
    alice.enter_room("jeux")
    carol = terminal("carol", "jeux")
    alice.wait_for_line(wording.joined("carol"))
    alice.page.set_input_files("#image-file", write_sample_png(tmp_path / "bubble.png", (48, 32)))
    alice.wait_for_line("You sent an image")
    carol.wait_for("alice sent an image [image PNG 48×32]")
    alice.page.set_input_files("#image-file", write_text(tmp_path / "notes.png", "not a picture"))
    alice.wait_for_line("Image not sent: only PNG and JPEG files can be sent")


def write_text(path: Path, text: str) -> Path:
    """A text file at ``path`` (whatever its name says)."""
    path.write_text(text, encoding="utf-8")
    return path


def test_html_and_script_in_messages_show_as_text_and_run_nothing(
    open_page: OpenPage, terminal: StartTerminal
) -> None:
    attacks = ["<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>", "<b>gras</b> &amp; &lt;"]
    alice = open_page()
    alice.log_in("alice")
    alice.enter_room("jeux")
    carol = terminal("carol", "jeux")
    for attack in attacks:
        carol.type(attack)
    for attack in attacks:
        alice.wait_for_line(wording.said("carol", attack))
    alice.type(attacks[0])
    carol.wait_for(wording.said("alice", attacks[0]))
    alice.page.reload()  # the same texts again, from the history
    alice.wait_for_line(HISTORY_END)
    for attack in attacks:
        assert alice.lines().count(wording.said("carol", attack)) == 1
    injected = alice.page.evaluate(
        "() => document.querySelectorAll('#lines img, #lines script, #lines b, body > script:not([src])').length"
    )
    assert injected == 0
    assert alice.dialogs == []


def test_the_page_forbids_inline_scripts(open_page: OpenPage) -> None:
    alice = open_page()
    violation = alice.page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener("securitypolicyviolation", (event) => resolve(event.violatedDirective));
            const script = document.createElement("script");
            script.textContent = "window.inlineRan = true";
            document.body.append(script);
        })"""
    )
    assert violation == "script-src-elem"
    assert alice.page.evaluate("() => window.inlineRan") is None


def test_the_page_follows_the_server_through_a_restart(
    open_page: OpenPage, terminal: StartTerminal, chat_server_process: ServerProcess
) -> None:
    alice = open_page()
    alice.log_in("alice")
    alice.enter_room("jeux")
    alice.type("avant la panne")
    chat_server_process.stop()
    alice.wait_for_line("The server is closing: server shutting down")
    alice.wait_for_line("Connection to the server lost. Reconnecting…")
    assert re.fullmatch(r"Reconnecting in \d+ s…|Connecting…", alice.status())
    chat_server_process.start()
    alice.wait_for_line(wording.welcome_back("alice"))
    alice.wait_for_line("You are in room jeux again.")
    assert alice.status() == "Connected"
    assert alice.lines().count(wording.you_said("avant la panne")) == 1  # not again from the history
    carol = terminal("carol", "jeux")
    carol.type("de retour")
    alice.wait_for_line(wording.said("carol", "de retour"))
    alice.type("bien reçu")
    carol.wait_for(wording.said("alice", "bien reçu"))


def test_at_phone_width_with_the_keyboard_alone(open_page: OpenPage, terminal: StartTerminal) -> None:
    alice = open_page(width=375, height=700)
    keyboard = alice.page.keyboard
    keyboard.type("alice")  # the pseudo field has the focus
    keyboard.press("Enter")
    alice.page.wait_for_selector("#rooms:not([hidden])")
    keyboard.press("Enter")  # the first room of the list has the focus: general
    alice.page.wait_for_selector("#conversation:not([hidden])")
    keyboard.type("bonjour du téléphone")  # the message field has the focus
    keyboard.press("Enter")
    alice.wait_for_line(wording.you_said("bonjour du téléphone"))
    assert alice.page.inner_text("#room-name") == "general"
    carol = terminal("carol", "general")
    carol.type("bien reçu")
    alice.wait_for_line(wording.said("carol", "bien reçu"))
    keyboard.press("Tab")
    assert alice.page.evaluate("() => document.activeElement.textContent") == "Send"
    overflow = alice.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    boxes = [alice.page.locator(selector).bounding_box() for selector in ("#message", "#image-button")]
    assert all(box is not None and box["x"] + box["width"] <= 375 for box in boxes)


def test_the_page_codec_mirrors_the_python_protocol(open_page: OpenPage) -> None:
    from tests.web.codec_vectors import client_vectors, error_vectors, js_max_payload, server_vectors

    alice = open_page()
    results = alice.page.evaluate(
        """async ([server, client, errors]) => {
            const protocol = await import("/static/protocol.js");
            const bytes = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
            const hex = (data) => Array.from(data, (byte) => byte.toString(16).padStart(2, "0")).join("");
            const plain = (frame) => (frame.data ? { ...frame, data: hex(frame.data) } : frame);
            const decoded = server.map(([wire, chunk]) => {
                const decoder = new protocol.FrameDecoder("server");
                const frames = [];
                const data = bytes(wire);
                for (let start = 0; start < data.length; start += chunk) {
                    frames.push(...decoder.feed(data.subarray(start, start + chunk)));
                }
                return frames.map(plain);
            });
            const encoded = client.map((frame) => {
                const copy = frame.data ? { ...frame, data: bytes(frame.data) } : frame;
                return hex(protocol.encode(copy));
            });
            const refused = errors.map((wire) => {
                try {
                    new protocol.FrameDecoder("server").feed(bytes(wire));
                    return null;
                } catch (error) {
                    return [error.code, error.reason];
                }
            });
            return { decoded, encoded, refused, maxPayload: protocol.MAX_PAYLOAD };
        }""",
        [
            [[wire, chunk] for wire, chunk, _ in server_vectors()],
            [frame for frame, _ in client_vectors()],
            [wire for wire, _ in error_vectors()],
        ],
    )
    assert results["decoded"] == [[expected] for _, _, expected in server_vectors()]
    assert results["encoded"] == [wire for _, wire in client_vectors()]
    assert results["refused"] == [expected for _, expected in error_vectors()]
    assert results["maxPayload"] == js_max_payload()
