"""Sentences for the cashier built from the facade's lower-case answers and from what a form
refused."""

from __future__ import annotations

from pydantic import ValidationError

from tillcrm.domain import refused_input

__all__ = ["INACTIVE_NOTE", "input_problem", "sentence"]

INACTIVE_NOTE = "INACTIVE: points, stored value and house account need a supervisor"
"""What an inactive customer means at the till: a charge to one of their accounts needs an
override; a sale paid by card or cash does not."""


def sentence(text: str) -> str:
    """`text` with its first letter upper-case and the rest untouched (`CRM` stays `CRM`)."""
    return text[:1].upper() + text[1:]


def input_problem(error: ValidationError, otherwise: str | None = None) -> str:
    """What a form shows for input its model refused: text or a number no database can
    store says so plainly (nothing is saved), anything else `otherwise`, or the model's own
    first message when the form has no better words for it."""
    refused = refused_input(error)
    if refused is not None:
        return sentence(refused.problem) + "."
    if otherwise is not None:
        return otherwise
    return sentence(str(error.errors()[0]["msg"]).removeprefix("Value error, "))
