"""A till's first sync loads its whole scope: the status bar shows a progress bar that
advances page by page (count and rate beside it) and leaves when the pull is done."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.crm_server import RunningCrm
from tests.support.customers import put_customer
from tests.support.tui import SIZE, until
from tests.support.world import World
from textual.widgets import ProgressBar, Static

from tillcrm.cli.run import create_app
from tillcrm.config import Settings, SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.local import CustomerCache, open_database
from tillcrm.sync import PullProgress
from tillcrm.widgets.status_bar import StatusBar

PAGE = 2


async def test_the_first_pull_moves_the_status_bar_progress_bar_to_the_end(
    tmp_path: Path,
    loopback_crm: RunningCrm,
    loopback_world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(2 * PAGE + 1):
        put_customer(loopback_world, "brand", "a", first_name=f"Progress{n}")
    seen: list[tuple[float | None, float, bool]] = []
    """(bar's total, bar's progress, bar shown) each time a status bar takes a progress."""
    show_pull = StatusBar.show_pull

    def recording(bar: StatusBar, progress: PullProgress) -> None:
        show_pull(bar, progress)
        if bar.is_mounted:
            widget = bar.query_one("#pull-progress", ProgressBar)
            seen.append((widget.total, widget.progress, bar.has_class("pulling")))

    monkeypatch.setattr(StatusBar, "show_pull", recording)
    settings = Settings(data_dir=tmp_path, sync=SyncSettings(pull_page_size=PAGE))
    async with CrmClient(loopback_crm.url, token=loopback_world.tokens["brand.a"]) as client:
        context = await client.me()
        db = open_database(tmp_path / "till.sqlite3")
        try:
            app = create_app(settings, db, context, client)
            async with app.run_test(size=SIZE) as pilot:
                await until(
                    pilot,
                    lambda: app.pull_progress is not None and app.pull_progress.finished,
                    "the first pull finished",
                )
                await pilot.pause()
                total = CustomerCache(db).count()
                bar = app.screen.query_one(StatusBar)
                label = str(bar.query_one("#pull-label", Static).content)
        finally:
            db.close()

    assert total > 2 * PAGE
    progresses = [progress for _, progress, shown in seen if shown]
    assert progresses == sorted(progresses)
    assert len(set(progresses)) >= 3  # it moved page by page, not in one jump
    assert progresses[-1] == total
    assert {bar_total for bar_total, _, shown in seen if shown} == {total}
    assert seen[-1][2] is False  # done: the bar leaves the status bar
    assert f"loading {total:,}/{total:,}" in label
