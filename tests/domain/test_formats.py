"""Dates, times and phone numbers as the till's locale and region write them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tillcrm.domain import display_phone
from tillcrm.domain.formats import format_clock, format_day, format_moment

SALE = datetime(2026, 12, 7, 17, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "zone", "shown"),
    [
        ("en_US", "America/Chicago", "Dec 7, 2026, 11:05\xa0AM"),
        ("de_DE", "Europe/Berlin", "07.12.2026, 18:05"),
        ("en_GB", "Europe/London", "7 Dec 2026, 17:05"),
        ("ja_JP", "Asia/Tokyo", "2026/12/08 2:05"),
    ],
)
def test_a_moment_is_written_in_the_stores_zone_as_the_locale_writes_it(
    locale: str, zone: str, shown: str
) -> None:
    assert format_moment(SALE, ZoneInfo(zone), locale) == shown


def test_a_readers_last_event_shows_the_time_of_day_to_the_second() -> None:
    assert format_clock(SALE, ZoneInfo("America/Chicago"), "en_US") == "11:05:00\xa0AM"
    assert format_clock(SALE, ZoneInfo("Europe/Berlin"), "de_DE") == "18:05:00"


def test_a_day_has_no_zone_and_the_locales_order() -> None:
    assert format_day(date(1990, 3, 4), "en_US") == "Mar 4, 1990"
    assert format_day(date(1990, 3, 4), "de_DE") == "04.03.1990"


@pytest.mark.parametrize(
    ("stored", "region", "shown"),
    [
        ("+14155550101", "US", "(415) 555-0101"),
        ("+493012345678", "US", "+49 30 12345678"),
        ("+493012345678", "DE", "030 12345678"),
        ("not a number", "US", "not a number"),
        (None, "US", ""),
    ],
)
def test_a_phone_is_shown_as_it_is_dialled_from_the_tills_region(
    stored: str | None, region: str, shown: str
) -> None:
    assert display_phone(stored, region) == shown
