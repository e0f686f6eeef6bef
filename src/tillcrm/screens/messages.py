"""What screens tell the app: the operator logged in, a customer was identified.

Screens post these and the app decides what follows (which screen, which status), so a screen
never reaches into the app to run its navigation: attributes go down, messages come up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from tillcrm.domain import Operator
    from tillcrm.till import Ambiguous, Identification, NotFound

__all__ = ["CustomerIdentified", "LoggedIn"]


class LoggedIn(Message):
    """The login screen accepted `operator`."""

    def __init__(self, operator: Operator) -> None:
        super().__init__()
        self.operator = operator


class CustomerIdentified(Message):
    """A search, a typed number or a registration found a customer (or why there is none)."""

    def __init__(self, found: Identification | Ambiguous | NotFound) -> None:
        super().__init__()
        self.found = found
