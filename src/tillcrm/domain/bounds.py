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

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, Strict

__all__ = ["INT64_MAX", "INT64_MIN", "NO_NUL", "Int64", "Moment", "Name", "Text"]

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


def _in_utc_range(moment: datetime) -> datetime:
    """`moment`, refused (ValueError) when it has no UTC equivalent a datetime can hold."""
    if moment.tzinfo is not None:
        try:
            moment.astimezone(UTC)
        except OverflowError:
            raise ValueError("the time in UTC must be within the years 1 to 9999") from None
    return moment


Moment = Annotated[datetime, AfterValidator(_in_utc_range)]
"""A point in time that can be stored and compared in UTC: 9999-12-31T23:59-12:00 cannot."""
