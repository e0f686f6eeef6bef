"""`redraw` skips the layout only when a Static keeps its height: the text always changes, and
a widget whose text gets more lines, or a line that wraps, still grows."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from tillcrm.widgets.redraw import redraw


class _OneStatic(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("one", id="text")


async def test_a_redrawn_static_shows_the_new_text_and_keeps_or_changes_its_height() -> None:
    app = _OneStatic()
    async with app.run_test(size=(40, 10)) as pilot:
        text = app.query_one("#text", Static)
        redraw(text, "a\nb\nc")
        await pilot.pause()
        assert text.size.height == 3
        redraw(text, "d\ne\nf")
        await pilot.pause()
        assert (str(text.content), text.size.height) == ("d\ne\nf", 3)
        redraw(text, "x" * 60 + "\ne\nf")
        await pilot.pause()
        assert text.size.height == 4
        redraw(text, "g")
        await pilot.pause()
        assert (str(text.content), text.size.height) == ("g", 1)
