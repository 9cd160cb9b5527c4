"""Keeping the input line whole when the terminal gets narrower under it.

Most terminals (tmux, GNOME Terminal, iTerm2, Windows Terminal...) *reflow* their lines when
they get narrower: a line longer than the new width is cut into several rows. When the input
line is cut, the cursor goes down with its end, and prompt_toolkit, which redraws the input
line from the cursor's row, leaves the rows above it behind: a stale copy of the start of the
line. Other terminals (xterm, JupyterLab's) never cut the cursor's row: there, the rows above the
input line are chat lines, which must stay.

So when a resize may have cut the input line (its cursor was further right than the new width
allows), the client asks the terminal where its cursor is now, with a cursor position request,
before prompt_toolkit redraws. A cut line moves the cursor to a column of its own; then the
rows above the redrawn input line hold the cut-off start, and they are erased.

The chat's input line is one row (``wrap_lines=False``: a long line scrolls sideways), so the
cursor's row is all a resize can cut.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from prompt_toolkit.application import Application
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.renderer import CPR_Support

ANSWER_TIMEOUT = 1.0  # seconds: a terminal answers at once, or has been too busy to matter


@dataclass(frozen=True)
class Narrowed:
    """A resize that may have cut the input line: the cursor's column then, and the new width."""

    cursor_column: int
    columns: int

    def rows_cut_off(self, column_now: int) -> int:
        """How many rows of the input line's start the terminal put above the cursor's row, given
        the cursor's column after the resize (0 if the terminal cut nothing)."""
        cut_column = self.cursor_column % self.columns
        if column_now != cut_column or cut_column == self.columns - 1:
            return 0  # the cursor stayed on its row (its column kept, or clamped to the last one)
        return self.cursor_column // self.columns


class ReflowGuard:
    """Erases what a reflowing terminal leaves of the input line when it gets narrower.

    Give ``key_bindings`` to the ``PromptSession`` and call ``watch(session.app)`` once.
    """

    def __init__(self) -> None:
        self._narrowed: Narrowed | None = None  # a resize waiting for the terminal's answer
        self.key_bindings = KeyBindings()
        self.key_bindings.add(Keys.CPRResponse, save_before=lambda event: False)(self._cursor_reported)

    def watch(self, app: Application[str]) -> None:
        """Check every resize of this application's terminal before the application redraws."""
        # prompt_toolkit 3.0 calls `_on_resize` on SIGWINCH and when it polls the size; it has no
        # public hook for a resize, and by the time anything public runs, the redraw is done.
        redraw = app._on_resize

        def on_resize() -> None:
            self._ask_where_the_cursor_is(app)
            redraw()

        app._on_resize = on_resize  # type: ignore[method-assign]

    def _ask_where_the_cursor_is(self, app: Application[str]) -> None:
        """Ask the terminal for its cursor position if this resize may have cut the input line."""
        renderer, output = app.renderer, app.output
        window = app.layout.current_window
        if window.render_info is None or renderer.cpr_support is not CPR_Support.SUPPORTED:
            return
        if renderer.waiting_for_cpr:
            return  # an earlier request's answer would come first: no way to tell which is ours
        narrowed = Narrowed(window.render_info.cursor_position.x, output.get_size().columns)
        if narrowed.cursor_column < narrowed.columns:
            return  # the cursor is within the new width: only what follows it can move, below it
        self._narrowed = narrowed
        output.ask_for_cpr()
        output.flush()
        asyncio.get_running_loop().call_later(ANSWER_TIMEOUT, self._give_up, narrowed)

    def _give_up(self, narrowed: Narrowed) -> None:
        """Stop waiting for an answer that never came."""
        if self._narrowed is narrowed:
            self._narrowed = None

    def _cursor_reported(self, event: KeyPressEvent) -> None:
        """A cursor position report (``ESC [ row ; column R``): ours, or one prompt_toolkit asked for."""
        row, column = map(int, event.data[2:-1].split(";"))
        narrowed, self._narrowed = self._narrowed, None
        if narrowed is None:
            event.app.renderer.report_absolute_cursor_row(row)  # what prompt_toolkit does with its own
            return
        rows_cut_off = narrowed.rows_cut_off(column - 1)  # the report counts from 1
        if rows_cut_off:
            self._erase_rows_above(event.app, rows_cut_off)

    @staticmethod
    def _erase_rows_above(app: Application[str], rows: int) -> None:
        """Erase the input line, the ``rows`` above it, and draw the input line again there."""
        app.renderer.erase(leave_alternate_screen=False)
        app.output.cursor_up(rows)
        app.output.erase_down()
        app.output.flush()
        app.renderer.request_absolute_cursor_position()
        app.invalidate()
