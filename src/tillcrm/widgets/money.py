"""Money on screen: an amount label over the till's `MoneyFormat`.

`MoneyFormat` and `MoneyInputError` live in the headless `tillcrm.domain.money_format` (a
printed receipt formats money too) and are re-exported here for the screens.
"""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

from tillcrm.domain.money_format import MoneyFormat, MoneyInputError

__all__ = ["MoneyFormat", "MoneyInputError", "MoneyLabel"]


class MoneyLabel(Static):
    """An amount that re-renders itself when `minor` changes."""

    minor: reactive[int | None] = reactive[int | None](None)

    def __init__(
        self,
        money: MoneyFormat,
        minor: int | None = None,
        *,
        empty: str = "-",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._money = money
        self._empty = empty
        self.set_reactive(MoneyLabel.minor, minor)

    def render(self) -> str:
        """The formatted amount, or the placeholder when there is none."""
        return self._empty if self.minor is None else self._money.format(self.minor)
