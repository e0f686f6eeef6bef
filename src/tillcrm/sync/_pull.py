"""Pull: the till's scope from the CRM into the cache, page after page.

Pull asks for changes since the CRM's own cursor (never the till's clock) and stores each
page with its cursor in one transaction. `SyncEngine` runs it after push in a round, so the
till's own changes reach the CRM before the CRM's view of them comes back; it keeps what the
CRM's answers mean for syncing (breaker, status), told through the callbacks given here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

from tillcrm.config import SyncSettings
from tillcrm.crm import CrmClient, CrmError, CrmUnauthorized, PulledPage
from tillcrm.local import CustomerCache, Meta, Outbox, TillDatabase, bulk_load
from tillcrm.sync._status import PullProgress

__all__ = ["Puller"]


class Puller:
    """Pulls one till's scope into its cache, for `SyncEngine`, which it tells how each
    call to the CRM went: answered, failed (at a monotonic time), or refused (401)."""

    def __init__(
        self,
        db: TillDatabase,
        client: CrmClient,
        settings: SyncSettings,
        *,
        on_progress: Callable[[PullProgress], None] | None,
        on_answer: Callable[[], None],
        on_failure: Callable[[CrmError, float], None],
        on_unauthorized: Callable[[CrmUnauthorized], None],
    ) -> None:
        self._db = db
        self._client = client
        self._settings = settings
        self._on_progress = on_progress
        """Told how far a full pull is (the status bar's progress bar, the CLI's)."""
        self._on_answer = on_answer
        self._on_failure = on_failure
        self._on_unauthorized = on_unauthorized
        self.last_pull_at: datetime | None = None
        """When a pull last reached the last page."""

    async def pull(self, cursor: str | None) -> int:
        """Store every page of changes after `cursor`; returns how many customers.

        The first sync has no cursor and so loads the whole scope, into an empty cache as a
        bulk load (`bulk_load`): its indexes are built once, when this pull ends however it
        ends, so search is complete again after it. Its pages' WAL is folded into the
        database by a thread of its own (`TillDatabase.checkpoints_aside`), not by the
        thread storing them.
        """
        first = cursor is None
        aside = contextlib.ExitStack()
        try:
            if first:
                aside.enter_context(self._db.checkpoints_aside())  # a thread started, no wait
            stored = await self._pull_pages(cursor, bulk=first)
            await asyncio.to_thread(self._finish_bulk_load)
        finally:
            await asyncio.to_thread(aside.close)
        return stored

    async def _pull_pages(self, cursor: str | None, *, bulk: bool) -> int:
        """Store the pages after `cursor` until the last or a failure; returns how many
        customers. Two pages are in hand at once: the next one is asked for as soon as this
        one's bytes arrive (the CRM builds it while the till works), and this one is checked
        and stored in a worker thread, so the event loop stays free."""
        stored = 0
        limit = self._settings.pull_page_size
        began = time.monotonic()
        total: int | None = None

        def report(*, finished: bool = False) -> None:
            if total is not None and self._on_progress is not None:
                seconds = time.monotonic() - began
                self._on_progress(PullProgress(stored, total, seconds, finished))

        # The pages asked for and not yet in hand (those in hand were awaited: let go).
        fetches: list[asyncio.Future[PulledPage]] = []

        def fetch(after: str | None) -> asyncio.Future[PulledPage]:
            fetches[:] = [pending for pending in fetches if not pending.done()]
            fetches.append(asyncio.ensure_future(self._client.pull(after, limit=limit)))
            return fetches[-1]

        asking = asyncio.ensure_future(self._arrived(fetch(cursor), fetch))
        try:
            while True:
                try:
                    page = await asking
                    if page.more:
                        asking = asyncio.ensure_future(self._arrived(fetches[-1], fetch))
                    if page.total is not None and total is None:
                        total = page.total
                        report()
                    stored += await asyncio.to_thread(self._store_page, page, bulk=bulk)
                    self._on_answer()
                    report()
                except CrmUnauthorized as exc:
                    self._on_unauthorized(exc)
                    break
                except CrmError as exc:
                    self._on_failure(exc, time.monotonic())
                    break
                if not page.more:
                    self.last_pull_at = datetime.now(UTC)
                    break
        finally:
            # Pages asked for ahead and not wanted any more: stop them, and take their
            # outcomes so no failure of them goes unheard.
            asking.cancel()
            for pending in fetches:
                pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, CrmError):
                await asking
            await asyncio.gather(*fetches, return_exceptions=True)
            report(finished=True)
        return stored

    def _finish_bulk_load(self) -> None:
        """Build the indexes a bulk load left out (a transaction that writes nothing without
        one)."""
        with self._db.write() as conn:
            bulk_load.finish(conn)

    @staticmethod
    async def _arrived(
        fetching: asyncio.Future[PulledPage],
        fetch: Callable[[str | None], asyncio.Future[PulledPage]],
    ) -> PulledPage:
        """The page `fetching` brings; the page after it is asked for (`fetch`) as soon as
        this one's bytes arrive, before this one is checked and stored."""
        page = await fetching
        if page.more:
            fetch(page.cursor)
        return page

    def _store_page(self, page: PulledPage, *, bulk: bool) -> int:
        """One page checked (`CustomerCache.parse_page`; `CrmError` when the cache cannot
        index a customer of it), then stored with its cursor in one transaction: a failed page
        leaves the cache as it was. It is not waited onto the disk (`durable=False`): a power
        cut may take back the last pages, and their cursor with them, so the next pull asks
        for them again. Checking it here, in the storing thread, rather than in a thread of
        its own while the page before is stored: the two threads fought over the GIL, and a
        first pull was slower (docs/performance.md).

        A customer with ops still waiting in the outbox (an offline edit, a points change) is
        not overwritten: the cache shows what the cashier saved until those ops sync, and the
        CRM's record comes back with the pull after it applies them (an applied op is a change
        there). One whose op the CRM rejects is fetched again then (`_refresh_rejected`).
        A `bulk` page (of a first pull) starts a bulk load if the cache is still empty.
        """
        try:
            customers = CustomerCache.parse_page(page.body)
        except ValueError as exc:
            # Nothing of the page is stored, and the same cursor asks for it again next round.
            raise CrmError(f"the CRM sent a customer the cache cannot store: {exc}") from exc
        with self._db.write(durable=False) as conn:
            if bulk:
                bulk_load.begin(conn)
            held = Outbox.customers_with_unsent(conn, customers.ids)
            stored = CustomerCache.store_page(conn, customers, skip=held)
            Meta.set_cursor(conn, page.cursor)
        return stored
