"""A one-line input for the till's forms: at 80x24 there is no room for three-line fields."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

__all__ = ["CompactInput"]


class CompactInput(Input):
    """Textual's compact input, kept borderless whatever the app's stylesheet gives `Input`.

    The app's stylesheet outranks a widget's default CSS, so a theme that borders every input
    would draw a three-line border inside this one-line field and hide its text; an inline
    style outranks the stylesheet.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, compact=True, **kwargs)
        self.styles.border = ("none", "transparent")
