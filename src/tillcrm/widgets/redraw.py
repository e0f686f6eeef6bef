"""Redrawing a text widget without laying the screen out again when its size stays the same.

`Static.update` lays out the whole screen by default, because new text may change the widget's
height. On the scan path the profile's lines mostly keep their count; skipping that layout
saves a few milliseconds per scan.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.widgets import Static

__all__ = ["redraw"]


def redraw(widget: Static, text: str) -> None:
    """Show `text` in `widget` (a Static as high as its text); lay out again only when the
    height may change: another number of lines, a line that would wrap, or a widget not laid
    out yet. Markup only makes a line shorter on screen, so measuring the raw text errs on the
    side of a layout."""
    size = widget.content_size
    lines = text.split("\n")
    same_height = (
        size.width > 0
        and len(lines) == size.height
        and all(cell_len(line) <= size.width for line in lines)
    )
    widget.update(text, layout=not same_height)
