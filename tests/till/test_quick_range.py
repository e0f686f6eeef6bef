"""The history tab's quick ranges are the store's calendar days, weeks and months."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tillcrm.till import QuickRange, quick_range

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("which", "start", "end"),
    [
        (QuickRange.TODAY, datetime(2026, 3, 4, tzinfo=NY), datetime(2026, 3, 5, tzinfo=NY)),
        (QuickRange.THIS_WEEK, datetime(2026, 3, 2, tzinfo=NY), datetime(2026, 3, 9, tzinfo=NY)),
        (QuickRange.LAST_MONTH, datetime(2026, 2, 1, tzinfo=NY), datetime(2026, 3, 1, tzinfo=NY)),
    ],
)
def test_ranges_follow_the_stores_calendar(
    which: QuickRange, start: datetime, end: datetime
) -> None:
    # 02:30 UTC on Thursday 5 March is still Wednesday 4 March evening in New York.
    now = datetime(2026, 3, 5, 2, 30, tzinfo=UTC)
    assert quick_range(which, now, "America/New_York") == (start, end)


def test_last_month_in_january_is_last_december() -> None:
    start, end = quick_range(QuickRange.LAST_MONTH, datetime(2026, 1, 15, tzinfo=UTC), "UTC")
    assert (start.date().isoformat(), end.date().isoformat()) == ("2025-12-01", "2026-01-01")
