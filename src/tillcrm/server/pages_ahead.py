"""`PagesAhead`: a till's next pull page, built while the till stores the one it has.

A till pulling its whole scope asks for page after page, and for each only once the one
before has arrived: the CRM then sat idle from sending a page until the next request came in,
and a first pull of 52,000 customers went at the pace of the two taking turns. So when a page
says more follows, the CRM starts building the next one at once, in a thread of its own, and
the till's request for it takes it (waiting for it if it is being built).

A page built a few milliseconds before it is asked for is what that request would have read
then: its cursor still says where the till's view stands, and a customer changed meanwhile
changes after that cursor, so a later page brings it. The one exception is the till's own
ops: a till stores a page over its cache once those ops are answered, so a page read before
they applied would take them back out of its cache. Each page therefore carries the seq of
the till's last applied op when it was read (`PullPage.ops_applied`), and a page built ahead
is used only if that is still the till's last op: a push to any CRM process moves it.

Pages are kept only in this process's memory, for a few seconds, and for a bounded number of
tills: a till that never asks (it crashed, or its next request reached another CRM process)
costs one page of work, never an answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

__all__ = ["PagesAhead", "PullPage"]

_log = logging.getLogger(__name__)

BUILDERS = 4
"""How many pages one CRM process builds ahead at once (for as many tills); a request whose
page is still waiting for a builder builds it itself."""

MAX_TILLS = 16
"""How many tills' pages are kept at most (the oldest goes first): about 20 MB at the default
page of 1,000 customers, 100 MB at the largest page a till may ask for (5,000)."""

KEEP_SECONDS = 10.0
"""How long a page built ahead is kept: a till asks for it within milliseconds."""


@dataclass(frozen=True)
class PullPage:
    """A pull answer's JSON, where the page after it starts if more follows, and the seq of
    the till's last applied op when it was read."""

    body: str
    cursor: int
    more: bool
    ops_applied: int


@dataclass(frozen=True)
class _Ahead:
    till: object
    """The till as its request saw it (its scope included): another one builds afresh."""
    after: int
    limit: int
    started: float
    page: Future[PullPage]


class PagesAhead:
    """The next page of each till in a first (or long) pull, built or being built."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[str, _Ahead] = {}
        self._builders = ThreadPoolExecutor(BUILDERS, thread_name_prefix="tillcrm-page-ahead")

    def page(
        self,
        till_id: str,
        till: object,
        after: int,
        limit: int,
        *,
        build: Callable[[int, int], PullPage],
        ops_applied: Callable[[], int],
    ) -> PullPage:
        """The page of `limit` customers after `after` for this till (`build(after, limit)`
        makes one): the one built ahead if it is that page, for this same till, and the till
        has applied no op since (`ops_applied()` reads its last); else built now. When more
        follows, the page after it is started before this one is returned."""
        now = time.monotonic()
        with self._lock:
            self._drop_older_than(now - KEEP_SECONDS)
            ahead = self._pages.pop(till_id, None)
        page = None
        if ahead is not None and (ahead.till, ahead.after, ahead.limit) == (till, after, limit):
            page = self._taken(ahead, ops_applied)
        elif ahead is not None:
            ahead.page.cancel()
        if page is None:
            page = build(after, limit)
        if page.more:
            started = self._builders.submit(build, page.cursor, limit)
            with self._lock:
                if len(self._pages) >= MAX_TILLS:
                    oldest = min(self._pages, key=lambda key: self._pages[key].started)
                    self._pages.pop(oldest).page.cancel()
                self._pages[till_id] = _Ahead(till, page.cursor, limit, now, started)
        return page

    def settled(self, till_id: str) -> None:
        """Wait until this till's page ahead, if any, is built (for tests)."""
        with self._lock:
            ahead = self._pages.get(till_id)
        if ahead is not None:
            ahead.page.exception()

    @staticmethod
    def _taken(ahead: _Ahead, ops_applied: Callable[[], int]) -> PullPage | None:
        """The page built ahead, or None to build it in the request: it had not started
        (the builders are busy with other tills' pages), it failed, or the till's ops moved
        on since it was read."""
        if ahead.page.cancel():
            return None
        try:
            page = ahead.page.result()
        except Exception:  # built again by the request, where its error reaches the till
            _log.exception("building a pull page ahead failed")
            return None
        return page if page.ops_applied == ops_applied() else None

    def _drop_older_than(self, moment: float) -> None:
        for till_id in [key for key, ahead in self._pages.items() if ahead.started < moment]:
            self._pages.pop(till_id).page.cancel()
