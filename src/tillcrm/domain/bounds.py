"""The text and integers a record may hold, whoever made it: refused where they come in.

Every field a till or a request can fill is `Text` or `Int64` (with its own bounds on top), so
a value the databases cannot store is a validation error at the edge, the same on SQLite and
PostgreSQL, and never a failure half way through an op:
- PostgreSQL stores no NUL in text or JSON, and a lone surrogate is no UTF-8 at all;
- a BIGINT holds a signed 64-bit integer; the CRM's arithmetic on amounts stays well inside;
- a boolean or a string is no amount: JSON `true` and `"100"` are refused (strict), never read
  as 1 and 100.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    Strict,
    ValidationError,
)

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "NO_NUL",
    "Flag",
    "InputRefused",
    "Int64",
    "Moment",
    "Name",
    "Text",
    "check_storable",
    "refused_input",
    "storable",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

NO_NUL = "^[^\\x00]*$"
"""Text without a NUL character. Checking any pattern, pydantic also refuses a string holding
a lone surrogate ("unable to parse raw data as a unicode string"): it is no UTF-8."""

Text = Annotated[str, Field(pattern=NO_NUL)]
"""Text a database can store: no NUL characters, no lone surrogates. A pattern rather than a
validator function, so the schema says it and a field's length bounds stay string bounds."""

Name = Annotated[Text, Field(min_length=1, max_length=64)]
"""An id or a name a till sends: an operator's, a custom field's, a category's, an event's."""

Int64 = Annotated[int, Strict(), Field(ge=INT64_MIN, le=INT64_MAX)]
"""An integer, never a boolean or a string, that fits a signed 64-bit column."""

Flag = Annotated[bool, Strict()]
"""A yes or no a request sends: JSON `true` or `false`, never 0, 1 or "true" read as one."""


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _not_a_number(value: object) -> object:
    """`value`, refused (ValueError) when it is a number: pydantic would read 0.5 or "0.5" as
    seconds since 1970, and no till sends a time that way."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value.strip())
    ):
        raise ValueError("a date and time (ISO 8601), not a number")
    return value


def _in_utc_range(moment: datetime) -> datetime:
    """`moment`, refused (ValueError) when it has no UTC equivalent a datetime can hold."""
    if moment.tzinfo is not None:
        try:
            moment.astimezone(UTC)
        except OverflowError:
            raise ValueError("the time in UTC must be within the years 1 to 9999") from None
    return moment


Moment = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_in_utc_range)]
"""A point in time, written as one, that can be stored and compared in UTC:
9999-12-31T23:59-12:00 cannot."""


class InputRefused(ValueError):
    """Input no database can store, refused where it is saved, before anything is queued.

    A NUL or a lone surrogate typed, pasted or scanned into a till would otherwise wait in the
    outbox for a CRM that can never take it; the message names the field and says why, in
    words a cashier can act on.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


def check_storable(value: object, field: str = "") -> None:
    """Raise `InputRefused` for the first text holding a NUL or a lone surrogate, or integer
    outside a signed 64-bit column, anywhere in `value` (text, a number, a model, a mapping
    (keys too) or a sequence). `field` names where `value` came from, for the message."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str):
        _check_text(value, field)
    elif isinstance(value, int) and not isinstance(value, bool):
        if not INT64_MIN <= value <= INT64_MAX:
            raise InputRefused(field, "the number is too large to be saved")
    elif isinstance(value, BaseModel):
        for name, item in value:
            check_storable(item, _within(field, name))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_storable(key, field)
            check_storable(item, _within(field, str(key)))
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_storable(item, field)


def storable(value: object) -> bool:
    """Whether `check_storable` takes `value`: for input that is refused whatever field held
    it (a scan, a code, a PIN)."""
    try:
        check_storable(value)
    except InputRefused:
        return False
    return True


def refused_input(error: ValidationError) -> InputRefused | None:
    """The clear refusal of input a model refused because no database could store it (the
    `Text` pattern, a lone surrogate, an `Int64` bound); None when it was refused for
    another reason, which the model's own message says better."""
    for problem in error.errors():
        try:
            check_storable(problem.get("input"), _field_of(problem["loc"]))
        except InputRefused as refused:
            return refused
    return None


def _field_of(loc: tuple[int | str, ...]) -> str:
    """A field's name from where pydantic found the error; a key that is itself refused (a
    custom field's name holding the NUL) is named `name`, never shown."""
    parts = []
    for part in loc:
        if not storable(part):
            parts.append("name")
            break
        if part != "[key]":
            parts.append(str(part))
    return ".".join(parts)


def _check_text(text: str, field: str) -> None:
    if "\x00" in text:
        raise InputRefused(field, "a NUL character cannot be saved; retype the text")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputRefused(
            field, "a broken character (a lone surrogate) cannot be saved; retype the text"
        ) from None


def _within(field: str, name: str) -> str:
    return f"{field}.{name}" if field else name
