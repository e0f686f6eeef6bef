"""Dates and times as text in the till's configured locale (`[locale] locale`), through Babel.

A till in Berlin reads `07.12.2026, 13:05` and one in Chicago `Dec 7, 2026, 1:05 PM` for the
same moment, on the screens and on the printed receipt alike: both format here (headless, no
Textual). A moment is always shown in the store's time zone, never the machine's: a venue's
receipts and history are in its own local time. Money is formatted beside this, in
`tillcrm.domain.money_format`.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_datetime, format_time

__all__ = ["format_clock", "format_day", "format_moment"]


@lru_cache(maxsize=16)
def _moment_pattern(locale: str) -> str:
    """The locale's medium date with its short time (no seconds), joined the locale's way:
    `MMM d, y, h:mm a` in en_US, `dd.MM.y, HH:mm` in de_DE. Built once per locale."""
    known = Locale.parse(locale)
    joined = str(known.datetime_formats["medium"])
    day = known.date_formats["medium"].pattern
    clock = known.time_formats["short"].pattern
    return joined.replace("{1}", day).replace("{0}", clock)


def format_moment(moment: datetime, zone: tzinfo, locale: str) -> str:
    """`moment` (aware) as the date and time it was in `zone`, written as `locale` writes it."""
    return _narrow_space_out(
        format_datetime(moment, _moment_pattern(locale), tzinfo=zone, locale=locale)
    )


def _narrow_space_out(text: str) -> str:
    """CLDR's narrow no-break space (U+202F, before PM) as the no-break space Babel's money
    already uses: receipt printers' code pages have that one and not the narrow one."""
    return text.replace("\u202f", "\u00a0")


def format_clock(moment: datetime, zone: tzinfo, locale: str) -> str:
    """Only the time of day of `moment` in `zone`, to the second (a reader's last event)."""
    return _narrow_space_out(format_time(moment, "medium", tzinfo=zone, locale=locale))


def format_day(day: date, locale: str) -> str:
    """A calendar day (a birthday, a report's range) as `locale` writes it, no time zone."""
    return str(format_date(day, "medium", locale=locale))
