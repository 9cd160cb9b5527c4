"""The README's picture of the web page, taken by the tests' browser: ``python -m tests.web.screenshot FILE``.

A real ``chat-server --web-port`` and ``chat-client`` and two pages have a short conversation; the
picture puts alice's page on a laptop-sized window beside bob's on a phone-sized one.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from chatlib.app.shared.sample_image import write_sample_png
from tests.web.browser import BROWSER_FLAGS, NO_BROWSER, ServerProcess, TerminalUser, find_browser
from tests.web.chat_page import ChatPage

LAPTOP = (820, 560)
PHONE = (375, 560)
GAP = 16


def take(output: Path) -> None:
    """Play the conversation and save the picture to ``output`` (PNG)."""
    executable = find_browser()
    if executable is None:
        sys.exit(NO_BROWSER)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        server = ServerProcess(Path(folder))
        server.start()
        carol = TerminalUser(server, "carol", "jeux")
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
            carol.type("Bonjour ! Qui vient jouer ce soir ?")
            carol.wait_for("Vous avez dit : Bonjour ! Qui vient jouer ce soir ?")
            alice = open_page(browser, server, LAPTOP)
            alice.log_in("alice")
            alice.enter_room("jeux")
            bob = open_page(browser, server, PHONE)
            bob.log_in("bob")
            bob.enter_room("jeux")
            alice.type("Moi ! À 20 h, comme la dernière fois ?")
            carol.type(f"/image {write_sample_png(Path(folder) / 'bubble.png', (96, 64))}")
            bob.wait_for_line("carol sent an image")
            bob.type("Je viens aussi, j'apporte le jeu.")
            carol.type("Parfait, à ce soir.")
            for page in (alice, bob):
                page.wait_for_line("carol a dit : Parfait, à ce soir.")
                page.page.wait_for_function("() => [...document.images].every((image) => image.complete)")
            pictures = [Image.open(io.BytesIO(page.page.screenshot())) for page in (alice, bob)]
            browser.close()
        finally:
            carol.quit()
            server.kill()
    width = LAPTOP[0] + GAP + PHONE[0]
    sheet = Image.new("RGB", (width, max(LAPTOP[1], PHONE[1])), "#c9ced6")
    sheet.paste(pictures[0], (0, 0))
    sheet.paste(pictures[1], (LAPTOP[0] + GAP, 0))
    sheet.quantize(colors=128).save(output, optimize=True)  # a palette: a third of the bytes, same look
    print(f"{output}: {sheet.width}×{sheet.height}, {output.stat().st_size} bytes")


def open_page(browser: object, server: ServerProcess, size: tuple[int, int]) -> ChatPage:
    """A new profile's tab on the chat page, ``size`` pixels large."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})  # type: ignore[attr-defined]
    return ChatPage(context.new_page(), server.url)


if __name__ == "__main__":
    take(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/web_client.png"))
