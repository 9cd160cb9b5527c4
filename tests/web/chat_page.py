"""The chat page in a browser tab, used as a person would: typing, pressing Enter, reading the lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.web.browser import TIMEOUT

if TYPE_CHECKING:
    from playwright.sync_api import Page

WAIT_MS = TIMEOUT * 1000
# A line of the conversation as a person reads it, without its [hh:mm]
LINE_TEXTS = """() => [...document.querySelectorAll("#lines li")]
    .map((line) => line.textContent.replace(/^\\[\\d\\d:\\d\\d\\] /, ""))"""
HAS_LINE = f"(text) => ({LINE_TEXTS})().includes(text)"


class ChatPage:
    """One tab of the chat page; ``dialogs`` collects every alert/confirm a script might open."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        self.dialogs: list[str] = []
        page.on("dialog", self._dialog)
        page.set_default_timeout(WAIT_MS)
        page.goto(url)

    def _dialog(self, dialog: object) -> None:
        self.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    def log_in(self, pseudo: str) -> None:
        """Type a pseudo and Enter, then wait for the room list (or, for a known room, the conversation)."""
        self.page.fill("#pseudo", pseudo)
        self.page.press("#pseudo", "Enter")
        self.page.wait_for_selector("#rooms:not([hidden]), #conversation:not([hidden])")

    def enter_room(self, room: str) -> None:
        """Choose a room from the list if it is there, else type its name; wait until inside."""
        listed = self.page.locator("#room-list button.room", has_text=room)
        if listed.count():
            listed.first.click()
        else:
            self.page.fill("#new-room", room)
            self.page.press("#new-room", "Enter")
        self.page.wait_for_selector("#conversation:not([hidden])")
        self.page.wait_for_function("(room) => document.getElementById('room-name').textContent === room", arg=room)

    def type(self, line: str) -> None:
        """Type a line in the message field and press Enter."""
        self.page.fill("#message", line)
        self.page.press("#message", "Enter")

    def wait_for_line(self, text: str) -> None:
        """Wait until the conversation shows the line ``text`` (exactly, its time taken off)."""
        try:
            self.page.wait_for_function(HAS_LINE, arg=text)
        except Exception as error:
            raise AssertionError(f"{text!r} never shown; shown: {self.lines()}") from error

    def lines(self) -> list[str]:
        """The conversation's lines, as read, without their times."""
        lines: list[str] = self.page.evaluate(LINE_TEXTS)
        return lines

    def status(self) -> str:
        """What the connection status at the top says."""
        return self.page.inner_text("#status")
