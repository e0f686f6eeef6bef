"""The till's state and plumbing shared by every part of the facade: the database, cache,
outbox and operators, who is logged in, and the one way to ask the CRM (time-boxed, behind a
breaker).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from uuid import UUID

from tillcrm.api import TILL_THROTTLED, CustomerOut, TillContext
from tillcrm.config import Settings
from tillcrm.crm import (
    CrmClient,
    CrmError,
    CrmLocked,
    CrmNotFound,
    CrmUnauthorized,
    CrmUnavailable,
)
from tillcrm.domain import (
    CustomerScope,
    Operator,
    OverrideApproval,
    PromotionCategory,
    effective_scope,
    points_account_brand,
)
from tillcrm.domain.ids import new_id
from tillcrm.domain.offline import OfflineCaps
from tillcrm.local import (
    CustomerCache,
    OperatorStore,
    Outbox,
    PinPolicy,
    TillDatabase,
)
from tillcrm.sync import CircuitBreaker
from tillcrm.till._overrides import OverrideRefused, approval_of, approve, claimed_approver
from tillcrm.till._results import Declined, Offline, OverrideRequired
from tillcrm.till._session import Session

__all__ = ["TillCore"]

T = TypeVar("T")

_PENDING_SECONDS = 30 * 60.0
"""How long a cashier's retry of an unanswered online action reuses its idempotency key; a
load of the same amount later is a new load."""


class TillCore:
    """What every part of the facade shares: the database and its tables, the session, and
    the one time-boxed way to ask the CRM."""

    def __init__(
        self,
        db: TillDatabase,
        context: TillContext,
        settings: Settings,
        client: CrmClient | None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._context = context
        self._client = client
        self._clock = clock
        self._phone_region = settings.locale.phone_region
        self._cache = CustomerCache(db, phone_region=self._phone_region)
        self._outbox = Outbox(db)
        policy = PinPolicy(
            max_attempts=settings.security.max_pin_attempts,
            lockout_seconds=settings.security.lockout_minutes * 60,
        )
        self._operators = OperatorStore(db, policy)
        self._session = Session(db, self._operators, clock)
        offline = settings.offline
        max_age = timedelta(hours=offline.max_balance_age_hours)
        self._money_caps = OfflineCaps(
            max_balance_age=max_age,
            per_transaction_cap=offline.per_transaction_cap,
            per_till_cap=offline.per_till_cap,
        )
        self._points_caps = OfflineCaps(
            max_balance_age=max_age,
            per_transaction_cap=offline.per_transaction_points_cap,
            per_till_cap=offline.per_till_points_cap,
        )
        self._timeout = settings.crm.connect_timeout
        """The longest a cashier waits for the CRM in one call before the till goes offline."""
        self._breaker = CircuitBreaker(threshold=1, probe_interval=settings.sync.interval_seconds)
        self._pending: dict[str, tuple[UUID, float]] = {}
        """Online-only actions waiting for the CRM's answer: their idempotency key, and when
        first tried (`_once`)."""
        self._action_secret = secrets.token_bytes(32)
        org = context.organization
        self._points_brand = points_account_brand(org, context.brand.id)
        self._owner_brand = (
            context.brand.id if effective_scope(org) is CustomerScope.BRAND else None
        )

    @property
    def operator(self) -> Operator | None:
        """The operator logged in at this till."""
        return self._session.current

    def operator_name(self, operator_id: str) -> str:
        """An operator as the screens name them: the cached operator's name; the id only for
        one the CRM no longer lists (removed since the op was saved)."""
        operator = self._operators.get(operator_id)
        return operator.name if operator is not None else operator_id

    @property
    def online(self) -> bool:
        """The last call to the CRM succeeded (or none has failed yet)."""
        return self._client is not None and not self._breaker.is_open

    @property
    def context(self) -> TillContext:
        """The till's organization, brand and store."""
        return self._context

    async def refresh_operators(self) -> bool:
        """Replace the cached operators with the CRM's list; False when it is out of reach."""
        client = self._client
        if client is None:
            return False
        operators = await self._reach(client.operators)
        if operators is None:
            return False
        self._operators.replace_all(operators)
        return True

    async def login(self, code: str, pin: str) -> Operator:
        """Log in with code and PIN (offline too); raises `LoginRefused`. The scrypt check
        runs in a worker thread, so the screen stays live."""
        await self.refresh_operators()
        return await asyncio.to_thread(self._session.login, code, pin)

    async def login_badge(self, badge: str) -> Operator:
        """Log in with a badge swipe (offline too); raises `LoginRefused`."""
        await self.refresh_operators()
        return await asyncio.to_thread(self._session.login_badge, badge)

    def logout(self) -> None:
        """End the logged-in operator's shift."""
        self._session.logout()

    async def approve(
        self,
        required: OverrideRequired,
        *,
        reason: str,
        badge: str | None = None,
        code: str | None = None,
        pin: str | None = None,
    ) -> OverrideApproval:
        """A supervisor's approval of exactly `required.action`; raises `OverrideRefused`.

        Online the CRM verifies the PIN or badge itself (its lockout, its audit) and the
        approval carries its verification; out of reach, the cached hashes decide and the CRM
        will flag the op for review. scrypt runs in a worker thread and the CRM is awaited,
        so the dialog stays live.
        """
        client = self._client
        if client is not None and self.online:
            approver = await asyncio.to_thread(
                claimed_approver, self._operators, badge=badge, code=code, pin=pin
            )
            approval_of(required, approver, reason)  # refused before a try is spent on it
            try:
                verified = await self._reach(  # the badge when swiped, as `claimed_approver`
                    lambda: client.verify_supervisor(
                        approver.id, pin=None if badge else pin, badge=badge or None
                    )
                )
            except CrmLocked as exc:
                who = "This till" if exc.code == TILL_THROTTLED else approver.name
                raise OverrideRefused(
                    f"{who} is locked, try in {math.ceil(exc.retry_after)} s"
                ) from exc
            except CrmError as exc:
                raise OverrideRefused(str(exc)) from exc
            if verified is not None:
                return approval_of(
                    required, approver, reason, verification_id=verified.verification_id
                )
            if badge:  # `claimed_approver` already matched it against the cached hashes
                return approval_of(required, approver, reason)
        return await asyncio.to_thread(
            approve,
            self._operators,
            required,
            reason=reason,
            badge=badge,
            code=code,
            pin=pin,
            clock=self._clock,
        )

    async def _fresh(self, customer_id: UUID) -> CustomerOut | None:
        """The CRM's record, stored in the cache when it holds this till's own ops
        (`_crm_record`); None offline or when the CRM lacks it (a customer created here and
        not yet synced)."""
        customer, _ = await self._crm_record(customer_id)
        return customer

    async def _crm_record(self, customer_id: UUID) -> tuple[CustomerOut | None, bool]:
        """The CRM's record (None offline or when the CRM lacks it) and whether it holds every
        op of this till's for the customer; only then is it stored in the cache.

        It may lack ours when some were unanswered, or when one was pushed and answered while
        the CRM's answer was on its way (the record was read before the op applied: storing
        it took a redemption back out of the cache, and checking a charge against it let a
        second redemption past the balance).
        """
        client = self._client
        if client is None:
            return None, False
        before = self._outbox.changes_of(customer_id)
        try:
            customer = await self._reach(lambda: client.customer(customer_id))
        except CrmNotFound:
            return None, False
        _, unanswered = before
        holds_ours = unanswered == 0 and self._outbox.changes_of(customer_id) == before
        if customer is not None and holds_ours:
            with self._db.write() as conn:
                CustomerCache.store(conn, [customer])
        return customer, holds_ours

    async def _online(self, what: str, call: Callable[[CrmClient], Awaitable[T]]) -> T | Offline:
        """An online-only read: the CRM's answer, or `Offline` naming `what` needs it. Answers
        such as not found reach the caller as the typed `CrmError` they are."""
        client = self._client
        found = await self._reach(lambda: call(client)) if client is not None else None
        return found if found is not None else Offline(what)

    async def _online_write(
        self, what: str, call: Callable[[CrmClient], Awaitable[T]]
    ) -> T | Offline | Declined:
        """An online-only write (the wallet, a gift-card load): the CRM's answer, `Offline`,
        or `Declined` with the CRM's reason."""
        try:
            return await self._online(what, call)
        except CrmError as exc:
            return Declined(str(exc))

    async def _once(
        self, action: str, what: str, call: Callable[[CrmClient, UUID], Awaitable[T]]
    ) -> T | Offline | Declined:
        """An online-only write that must happen once: the same `action` asked again while it
        has no answer (the CRM was out of reach, or its answer was lost after it committed)
        goes with the same idempotency key, so the CRM applies it once. An answer, success or
        refusal, ends the action: the next one gets a new key."""
        now = self._clock()
        for stale in [a for a, (_, at) in self._pending.items() if now - at > _PENDING_SECONDS]:
            del self._pending[stale]
        key, _ = self._pending.setdefault(action, (new_id(), now))
        answer = await self._online_write(what, lambda client: call(client, key))
        if not isinstance(answer, Offline):
            del self._pending[action]
        return answer

    def _action_digest(self, *parts: object) -> str:
        """An action's identity for `_once` that keeps no card number in memory: an HMAC under
        a key made for this process."""
        text = "\x1f".join(str(part) for part in parts)
        return hmac.new(self._action_secret, text.encode(), hashlib.sha256).hexdigest()

    def promotion_category(self, customer: CustomerOut) -> PromotionCategory | None:
        """The customer's promotion category, from the till's context (kept for offline): its
        points rate and credit limit as the CRM applies them, and its name for the profile."""
        wanted = customer.profile.promotion_category_id
        categories = self._context.promotion_categories
        return next((c for c in categories if c.id == wanted), None) if wanted else None

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def _reach(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """The CRM's answer within the time budget, or None when it cannot be reached now.

        After a failure the CRM is not asked again until the breaker's probe interval has
        passed, so an outage costs one wait, not one per action. Answers such as not found
        reach the caller as the typed `CrmError` they are.
        """
        if self._client is None:
            return None
        now = time.monotonic()
        if self._breaker.is_open and not self._breaker.probe_due(now):
            return None
        try:
            answer = await asyncio.wait_for(call(), self._timeout)
        except (CrmUnavailable, CrmUnauthorized, TimeoutError):
            self._breaker.record_failure(time.monotonic())
            return None
        except CrmError:
            self._breaker.record_success()
            raise
        self._breaker.record_success()
        return answer
