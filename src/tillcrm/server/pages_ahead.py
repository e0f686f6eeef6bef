"""`PagesAhead`: a till's next pull page, built while the till stores the one it has.

A till pulling its whole scope asks for page after page, and for each only once the one
before has arrived: the CRM then sat idle from sending a page until the next request came in,
and a first pull of 52,000 customers went at the pace of the two taking turns. So when a page
says more follows, the CRM starts building the next one at once, in a thread of its own, and
the till's request for it takes it (waiting for it if it is not done).

A page built a few milliseconds before it is asked for is what that request would have read
then: its cursor still says where the till's view stands, and a customer changed meanwhile
changes after that cursor, so the next pull brings it. The one exception is the till's own
ops: a till stores a page over its cache once those ops are answered, so a page read before
they applied would take them back out of its cache. A push therefore drops its till's page
ahead (`forget`).

Pages are kept only in this process's memory, one per till and for a bounded number of
tills: a till that never asks (it crashed, or its next request reached another CRM process)
costs one page of work, never an answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

__all__ = ["PagesAhead", "PullPage"]

_log = logging.getLogger(__name__)

BUILDERS = 4
"""How many pages one CRM process builds ahead at once (for as many tills)."""

MAX_TILLS = 64
"""How many tills' pages are kept at most: each is up to a page of JSON (about 1.2 MB for
1,000 customers), so a chain's tills all starting a first pull at once take 80 MB at most;
past that a till's page is built when it asks, as before."""


@dataclass(frozen=True)
class PullPage:
    """A pull answer's JSON, and where the page after it starts if more follows."""

    body: str
    cursor: int
    more: bool


class PagesAhead:
    """The next page of each till in a first (or long) pull, built or being built."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[str, tuple[tuple[int, int], Future[PullPage]]] = {}
        self._builders = ThreadPoolExecutor(BUILDERS, thread_name_prefix="tillcrm-page-ahead")

    def page(
        self, till_id: str, after: int, limit: int, build: Callable[[int, int], PullPage]
    ) -> PullPage:
        """The page of `limit` customers after `after` for this till (`build(after, limit)`
        makes one): the one built ahead if it is that page, else built now. When more follows,
        the page after it is started before this one is returned."""
        with self._lock:
            ahead = self._pages.pop(till_id, None)
        page = None
        if ahead is not None and ahead[0] == (after, limit):
            try:
                page = ahead[1].result()
            except Exception:  # built again below, where its error reaches the till
                _log.exception("building a pull page ahead failed")
        if page is None:
            page = build(after, limit)
        if page.more:
            with self._lock:
                if len(self._pages) < MAX_TILLS:
                    started = self._builders.submit(build, page.cursor, limit)
                    self._pages[till_id] = ((page.cursor, limit), started)
        return page

    def forget(self, till_id: str) -> None:
        """Drop this till's page ahead: it pushes ops, and the page was read before them."""
        with self._lock:
            self._pages.pop(till_id, None)
