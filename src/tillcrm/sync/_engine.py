"""`SyncEngine`: push the outbox to the CRM exactly once, pull the till's scope into the cache.

Push sends pending ops in seq order, one batch at a time, and records the CRM's answer for
each op. A batch is sized by its encoded bytes as well as its count, under the body limit the
CRM says; a push refused whole (413, or 422 for what is in it) is split, and an op refused
even alone is sent withheld, so the CRM stores it as rejected, its seq advances and the ops
after it sync. Exactly-once rests on the CRM: an op id it has seen is answered with the
stored result (duplicate), so a resend after a lost answer or a crash never applies twice.
Failures worth retrying put the batch back to pending with a full-jitter backoff stored in
the rows; after repeated failures the circuit breaker stops real calls and only probes
`/v1/health`, backing off from a second to `probe_max_seconds`, and the loop wakes for each
probe, so a CRM that comes back is used within that wait. Waits within a run are timed on
the monotonic clock; the wall-clock wait stored in the rows only carries a backoff over a
restart. A 401 stops all syncing until the till is registered again.

Pull (`_pull.Puller`) runs after push in a round, so the till's own changes reach the CRM
before the CRM's view of them comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from uuid import UUID

from tillcrm.api import Op, OpStatus, PushResponse
from tillcrm.config import SyncSettings
from tillcrm.crm import (
    CrmClient,
    CrmError,
    CrmRejected,
    CrmUnauthorized,
    CrmUnavailable,
)
from tillcrm.local import Batch, CustomerCache, Meta, OpState, Outbox, TillDatabase
from tillcrm.sync._backoff import retry_delay
from tillcrm.sync._breaker import CircuitBreaker
from tillcrm.sync._pull import Puller
from tillcrm.sync._seqs import seq_stop
from tillcrm.sync._status import PullProgress, SyncStatus

_log = logging.getLogger(__name__)

_FIRST_PROBE_SECONDS = 1.0
"""The breaker's first probe after it opens; later ones back off to `probe_max_seconds`."""

__all__ = ["NOT_AUTHORIZED", "SyncEngine"]

NOT_AUTHORIZED = "till not authorized"
"""The status problem after a 401: register the till again."""

_POISON = 422
"""The status of a push the CRM refuses for what one of its ops is, not for how it was sent."""

_TOO_LARGE = 413
"""The status of a push whose body passes the CRM's limit: split like a `_POISON` one."""

UNADVERTISED_BODY_LIMIT = 1024 * 1024
"""The push body the till keeps under until the CRM says its limit (`CrmClient.body_limit`):
nginx's default, the smallest a CRM behind a common proxy is likely to have. A sale of 500
lines at their longest is about 0.4 MB."""


class SyncEngine:
    """Syncs one till's database with its CRM.

    Made once per process start: ops a previous process left inflight (sent, never
    answered) go back to pending here, and the CRM answers their resend as duplicates.
    """

    def __init__(
        self,
        db: TillDatabase,
        client: CrmClient,
        settings: SyncSettings,
        *,
        on_status: Callable[[SyncStatus], None] | None = None,
        on_pull_progress: Callable[[PullProgress], None] | None = None,
        breaker: CircuitBreaker | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._db = db
        self._client = client
        self._settings = settings
        self._on_status = on_status
        self._breaker = breaker or CircuitBreaker(
            probe_interval=settings.probe_max_seconds, first_probe=_FIRST_PROBE_SECONDS
        )
        self._rng = rng
        self._clock = clock or time.time
        """The wall clock, for the waits stored in the outbox (they outlive the process)."""
        self._retry_at: float | None = None
        """When (monotonic) the head of the queue may be pushed again: after a failed push,
        the end of its backoff; after the CRM answered, then. None until this run has pushed
        or reached the CRM: the wait stored in the outbox governs."""
        self._outbox = Outbox(db)
        self._meta = Meta(db)
        self._online = False
        self._authorized = True
        self._problem = ""
        self._seq_stopped = Meta(db).seq_stop() is not None
        """The CRM stopped taking this till's ops (kept in `Meta`, so across restarts, until
        a push gets past it; a pull does not clear it)."""
        self._push_failed = False
        self._withheld: dict[UUID, str] = {}
        """Ops the CRM refused even alone (too large, or a push it would not read), by op
        id (a renumber moves seqs), with why: sent withheld (`_withholding`)."""
        self._isolate_through = 0
        """After a server error on a batch, ops up to this seq go one at a time, to find the
        op it is about."""
        self._streak: tuple[int, str, int] | None = None
        """The op last sent alone that got a server error, the error, and how many times in
        a row it got that error."""
        self._last_push_at: datetime | None = None
        self._published: SyncStatus | None = None
        self._round = asyncio.Lock()
        """One round at a time: a supervisor's "sync now" must not overlap the loop's round."""
        self._puller = Puller(
            db,
            client,
            settings,
            on_progress=on_pull_progress,
            on_answer=self._succeeded,
            on_failure=self._failed,
            on_unauthorized=self._unauthorized,
        )
        self._outbox.requeue_inflight()

    # -- push --------------------------------------------------------------------------------

    async def push_once(self) -> int:
        """Push every due pending op, batch after batch; returns how many the CRM answered.

        Stops at the first failure: the failed batch waits out its backoff in the rows.
        """
        answered = 0
        self._push_failed = False
        if not await self._reachable():
            self._push_failed = True
            self._publish()
            return answered
        size = self._settings.batch_size
        while True:
            batch = self._next_batch(1 if self._isolate_through else size)
            if batch is None:
                break
            batch = self._withholding(batch)
            seqs = [op.seq for op in batch.ops if op.seq is not None]
            try:
                response = await self._client.push(batch.ops)
            except CrmUnauthorized as exc:
                _log.error("push of %s refused: %s (%s)", _ops(seqs), NOT_AUTHORIZED, exc)
                self._outbox.release(seqs)
                self._unauthorized(exc)
                break
            except CrmError as exc:
                if isinstance(exc, CrmRejected) and exc.status in (_POISON, _TOO_LARGE):
                    _log.warning("push of %s refused (HTTP %s): %s", _ops(seqs), exc.status, exc)
                    self._succeeded()
                    size = self._split(batch, exc)
                    continue
                # Network errors, 5xx, 429 and 409 are what the CRM says to retry; any other
                # whole-request refusal is a bug of this till that an update fixes, and
                # dead-lettering a whole batch for it would lose good ops.
                retry_after = self._retry_after(exc)
                now = time.monotonic()
                if self._needs_attention(seqs, exc):
                    _log.error("push of %s failed: %s; held for a supervisor", _ops(seqs), exc)
                    self._outbox.hold(seqs[0], str(exc))
                else:
                    delay = retry_delay(
                        batch.attempts + 1,
                        base=self._settings.backoff_base_seconds,
                        cap=self._settings.backoff_cap_seconds,
                        retry_after=retry_after,
                        rng=self._rng,
                    )
                    _log.warning(
                        "push of %s failed: %s; next try in %.1f s", _ops(seqs), exc, delay
                    )
                    self._outbox.record_retry(seqs, delay, str(exc), self._clock())
                    self._retry_at = now + delay
                self._failed(exc, now, retry_after)
                self._push_failed = True
                break
            except BaseException:
                # A bug, or the app shutting down mid-request: the fate of the batch is unknown,
                # so it goes back to pending and the next round resends it (the CRM answers a
                # resend once). Left inflight it would wait for the next start-up.
                self._outbox.release(seqs)
                raise
            self._succeeded()
            _log_answers(seqs, response)
            self._last_push_at = datetime.now(UTC)
            answered += len(response.results)
            self._streak = None
            if seqs[-1] >= self._isolate_through:
                self._isolate_through = 0
            resend_from = self._outbox.record_results(batch.ops, response)
            await self._refresh_rejected(batch.ops, response)
            if self._stopped_at(batch.ops, response, resending=resend_from is not None):
                break
        self._publish()
        return answered

    def _split(self, batch: Batch, exc: CrmRejected) -> int:
        """How many ops the next push takes after the CRM refused all of `batch` for what is
        in it. For one op in it (an op id used before with another payload, a schema it does
        not accept): the ops go one by one until that op is alone. For its size: half as
        many (the limit its answer says already sizes the next batch by bytes, unless a proxy
        answered). An op refused alone is sent again withheld, so the CRM stores its
        rejection and takes its seq (left untaken, it would stop the CRM at a gap); it goes
        dead with the reason, for the supervisor's dead-letter list, and the ops after it sync
        on in full batches. Only an op refused even withheld goes dead untaken."""
        seqs = [op.seq for op in batch.ops if op.seq is not None]
        if len(seqs) > 1:
            self._outbox.release(seqs)
            return len(seqs) // 2 if exc.status == _TOO_LARGE else 1
        head = batch.ops[0]
        if head.op_id not in self._withheld:
            self._withheld[head.op_id] = (
                _too_large(batch.body_bytes, self._client.body_limit)
                if exc.status == _TOO_LARGE
                else f"the CRM refused it: {exc.message}"
            )
            self._outbox.release(seqs)
        else:
            self._outbox.record_dead(seqs[0], exc.message)
        return self._settings.batch_size

    def _withholding(self, batch: Batch) -> Batch:
        """`batch` with each op the CRM refused even alone sent withheld (`Op.withheld`,
        without its payload): the CRM stores it as rejected, so it goes dead with the reason
        and the CRM takes its seq. That is an op refused alone (413 or 422), or one too large
        alone for the limit the CRM said: sent, the CRM would answer 413, or cut
        the connection while it is sent. (A batch of more ops is sized within that limit.)"""
        head, limit = batch.ops[0], self._client.body_limit
        if limit is not None and batch.body_bytes > limit:
            self._withheld.setdefault(head.op_id, _too_large(batch.body_bytes, limit))
        ops = [
            op.model_copy(update={"payload": {}, "withheld": self._withheld[op.op_id]})
            if op.op_id in self._withheld
            else op
            for op in batch.ops
        ]
        return dataclasses.replace(batch, ops=ops)

    def _stopped_at(self, sent: list[Op], response: PushResponse, *, resending: bool) -> bool:
        """Whether the CRM stopped taking the till's ops in this push (see `seq_stop`): then
        the queue is blocked until a supervisor renumbers it, and says so. A push that got
        past such a stop clears it. One the till resends from (`resending`: the CRM lacks ops
        the till holds as answered) is no stop."""
        stop = None if resending else seq_stop(sent, response)
        if stop is not None:
            self._problem = stop.problem
        if stop is not None or self._seq_stopped:
            with self._db.write() as conn:
                Meta.set_seq_stop(conn, stop)
            self._seq_stopped = stop is not None
        return stop is not None

    def _needs_attention(self, seqs: list[int], exc: CrmError) -> bool:
        """Whether this failed push's op needs attention: sent alone, it got the same server
        error (5xx) `attention_after_tries` times in a row. A server error on a batch sends
        its ops one at a time next, to find the op it is about. Counted within a run."""
        if not (isinstance(exc, CrmUnavailable) and exc.status is not None and exc.status >= 500):
            self._streak = None
            return False
        if len(seqs) > 1:
            self._isolate_through = seqs[-1]
            return False
        seq, error = seqs[0], str(exc)
        count = 1
        if self._streak is not None and self._streak[:2] == (seq, error):
            count += self._streak[2]
        if count >= self._settings.attention_after_tries:
            self._streak = None
            return True
        self._streak = (seq, error, count)
        return False

    def _next_batch(self, size: int) -> Batch | None:
        """The next batch of up to `size` ops, its body within the limit the CRM said
        (`UNADVERTISED_BODY_LIMIT` until it says), if the head of the queue is due. Within a
        run its wait is timed on the monotonic clock (`_retry_at`), so a clock step neither
        strands nor hurries it; only the first push of a run goes by the wall-clock wait
        stored in the outbox."""
        max_bytes = self._client.body_limit or UNADVERTISED_BODY_LIMIT
        if self._retry_at is None:
            return self._outbox.next_batch(
                size,
                self._clock(),
                longest_wait=self._settings.backoff_cap_seconds,
                max_bytes=max_bytes,
            )
        if time.monotonic() < self._retry_at:
            return None
        return self._outbox.next_batch(size, None, max_bytes=max_bytes)

    async def _refresh_rejected(self, sent: list[Op], response: PushResponse) -> None:
        """The CRM's record of each customer whose op it rejected, into the cache.

        Pull skipped them while the op waited (`Puller._store_page`), and a rejected op changes
        nothing at the CRM, so no later pull would bring their record back: the cache would
        keep showing the effect of an op that never happened.
        """
        rejected = {r.op_id for r in response.results if r.status is OpStatus.REJECTED}
        for customer_id in {op.entity_id for op in sent if op.op_id in rejected}:
            try:
                customer = await self._client.customer(customer_id)
            except CrmError:  # not visible any more, or unreachable: the next change brings it
                continue
            with self._db.write() as conn:
                if not Outbox.customers_with_unsent(conn, [str(customer_id)]):
                    CustomerCache.store(conn, [customer])

    # -- pull --------------------------------------------------------------------------------

    async def pull_once(self) -> int:
        """Store every page of changes since the last cursor; returns how many customers
        (`Puller.pull`: a first pull is a bulk load)."""
        if not await self._reachable():
            self._publish()
            return 0
        cursor = self._meta.cursor()
        first = cursor is None
        stored = await self._puller.pull(cursor)
        if stored:
            _log.info("pulled %d customer(s)%s", stored, " (first full pull)" if first else "")
        self._publish()
        return stored

    # -- the loop ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def between_rounds(self) -> AsyncIterator[None]:
        """Hold the loop between two rounds while the queue is changed under it (a
        renumber): a push in flight would otherwise answer for seqs that moved."""
        async with self._round:
            yield

    async def sync_once(self) -> None:
        """One round: push, then pull unless the push just failed (a CRM that refused the
        push would refuse the pull too; an empty outbox still pulls)."""
        async with self._round:
            await self.push_once()
            if self._authorized and not self._push_failed:
                await self.pull_once()

    async def run(self, stop: asyncio.Event) -> None:
        """Sync every `interval_seconds` until `stop` is set (a set event also cuts the wait)."""
        self._publish()
        while not stop.is_set():
            try:
                await self.sync_once()
            except Exception as exc:
                # A bug in one round must not end syncing for the rest of the shift while ops
                # pile up: say so, keep the queue, and try again next round.
                _log.exception("sync round failed")
                self._problem = f"sync round failed, retrying: {exc}"
                self._publish()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._until_next_round())

    def _until_next_round(self) -> float:
        """Seconds to the next round: the interval, or less when the breaker's next probe or
        a failed push's retry comes first, so a CRM that is back is used then, not a whole
        interval later. Times already past were the round just run's to use."""
        now = time.monotonic()
        soon = (self._breaker.next_probe_at(), self._retry_at)
        return min([self._settings.interval_seconds, *(at - now for at in soon if at and at > now)])

    # -- status ------------------------------------------------------------------------------

    def status(self) -> SyncStatus:
        """The engine and the queue as they stand now."""
        head = self._outbox.head()
        return SyncStatus(
            online=self._online,
            authorized=self._authorized,
            queue_depth=self._outbox.depth(),
            oldest_pending_seconds=(
                max(0.0, (datetime.now(UTC) - head.local_ts).total_seconds()) if head else None
            ),
            dead=self._outbox.count(OpState.DEAD),
            needs_review=self._outbox.count(OpState.NEEDS_REVIEW),
            last_push_at=self._last_push_at,
            last_pull_at=self._puller.last_pull_at,
            problem=self._problem,
            blocking=self._outbox.blocking(head),
        )

    def _publish(self) -> None:
        """Tell the watcher when something other than the ever-growing age changed."""
        status = self.status()
        if self._published is None or _without_age(status) != _without_age(self._published):
            self._published = status
            if self._on_status is not None:
                self._on_status(status)

    # -- plumbing ----------------------------------------------------------------------------

    async def _reachable(self) -> bool:
        """Whether to make real calls: authorized, and the breaker closed or its probe good."""
        if not self._authorized:
            return False
        now = time.monotonic()
        if not self._breaker.is_open:
            return True
        if not self._breaker.probe_due(now):
            return False
        try:
            await self._client.health()
        except CrmError as exc:
            self._failed(exc, now, self._retry_after(exc))
            return False
        self._succeeded()
        return True

    def _succeeded(self) -> None:
        """The CRM answered: close the breaker, and the head of the queue is due (a backoff
        is for a CRM that is not answering)."""
        self._breaker.record_success()
        self._retry_at = time.monotonic()
        if not self._online:
            _log.info("the CRM answers")
        self._online = True
        self._problem = ""

    def _failed(self, exc: CrmError, now: float, retry_after: float | None = None) -> None:
        """A call failed at `now` (monotonic); the CRM asked for `retry_after` seconds."""
        self._breaker.record_failure(now, retry_after)
        if self._online:
            _log.warning("the CRM stopped answering: %s", exc)
        self._online = False
        self._problem = str(exc)

    def _retry_after(self, exc: CrmError) -> float | None:
        """The CRM's `Retry-After` of a failure, cut to the backoff cap (no wait the till
        honours is longer, so a stored wait beyond it can only be a clock put back)."""
        if isinstance(exc, CrmUnavailable) and exc.retry_after:
            return min(exc.retry_after, self._settings.backoff_cap_seconds)
        return None

    def _unauthorized(self, exc: CrmUnauthorized) -> None:
        self._authorized = False
        self._online = False
        self._problem = f"{NOT_AUTHORIZED}: register it again ({exc.message})"


def _too_large(body_bytes: int, limit: int | None) -> str:
    """The dead reason of an op too large for the CRM even alone."""
    said = f"limit {limit}" if limit is not None else "over a limit it does not say"
    return f"too large for the CRM: {body_bytes} bytes, {said}"


def _ops(seqs: list[int]) -> str:
    """A pushed batch in a log line: how many ops, which seqs."""
    return f"{len(seqs)} op(s) (seq {seqs[0]}..{seqs[-1]})"


def _log_answers(seqs: list[int], response: PushResponse) -> None:
    """One line per push the CRM answered, its answers counted by status, and one line per
    op it did not apply as sent (rejected, needs review) with the CRM's reason."""
    counts = Counter(result.status.value for result in response.results)
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no answers"
    _log.info("push of %s: %s (CRM last seq %s)", _ops(seqs), tally, response.last_seq)
    for result in response.results:
        if result.status in (OpStatus.REJECTED, OpStatus.NEEDS_REVIEW):
            _log.warning("op %s %s by the CRM: %s", result.op_id, result.status, result.reason)


def _without_age(status: SyncStatus) -> SyncStatus:
    return dataclasses.replace(status, oldest_pending_seconds=None)
