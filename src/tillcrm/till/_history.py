"""The purchase history's quick ranges (today, this week, last month) in the store's time zone.

A "today" at a venue open past midnight UTC is the store's day, not the server's.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = ["QuickRange", "quick_range"]


class QuickRange(StrEnum):
    """The history tab's shortcuts."""

    TODAY = "today"
    THIS_WEEK = "this_week"
    LAST_MONTH = "last_month"


def quick_range(which: QuickRange, now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """`[start, end)` of the range containing `now` (weeks start on Monday), as aware times."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    if which is QuickRange.TODAY:
        first, after = today, today + timedelta(days=1)
    elif which is QuickRange.THIS_WEEK:
        first = today - timedelta(days=today.weekday())
        after = first + timedelta(days=7)
    else:
        after = today.replace(day=1)
        first = (after - timedelta(days=1)).replace(day=1)
    return _midnight(first, zone), _midnight(after, zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)
