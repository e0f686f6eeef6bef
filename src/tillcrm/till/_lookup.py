"""Finding customers: identify (scan or typed), choose from a search, search, profile,
history and receipts. The cache answers first; the CRM only on a miss or to refresh.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from tillcrm.api import (
    CustomerOut,
    CustomerSummary,
    OpType,
    Page,
    Receipt,
    TransactionSummary,
    VisitPayload,
)
from tillcrm.crm import CrmError
from tillcrm.domain import (
    IdentifierKind,
    InvalidPhoneError,
    Operator,
    normalize_phone,
    storable,
)
from tillcrm.local import CustomerCache, Outbox, phone_shape
from tillcrm.till._core import TillCore
from tillcrm.till._org import not_found_here
from tillcrm.till._results import Ambiguous, Identification, NotFound, Offline, Saved

__all__ = ["CustomerLookup"]

UNREADABLE = "no card or number holds a NUL or a broken character; scan or type it again"
"""Why a scan or typed text holding a NUL or a lone surrogate finds nobody: no card, phone or
name has one (a garbled read), and a lone surrogate cannot even be looked up."""


class CustomerLookup(TillCore):
    """Finding customers; every identification is recorded as a visit op."""

    async def identify(
        self, kind: IdentifierKind, value: str
    ) -> Identification | Ambiguous | NotFound:
        """The customer a scanned card or tag belongs to, recording a visit.

        The cache answers without touching the network; only a miss asks the CRM (and the
        customer found is cached with the visit).
        """
        operator = self._session.require()
        value = value.strip()
        if not storable(value):
            return NotFound(UNREADABLE)
        if kind is IdentifierKind.PHONE:
            return await self._identify_phone(value, operator)
        cached = self._cache.by_identifier(kind, value)
        if cached is not None:
            return self._visit(cached, "cache", kind, operator)
        client = self._client
        if client is None:
            return NotFound()
        try:
            answer = await self._reach(lambda: client.identify(kind, value))
        except CrmError as refused:  # not found, blocked card, ...: said in its own words
            return not_found_here(refused, self._context, kind, value)
        if answer is None:
            return NotFound("not in the cache, and the CRM cannot be reached")
        return self._visit(answer.customer, "crm", kind, operator)

    async def identify_typed(self, text: str) -> Identification | Ambiguous | NotFound:
        """The customer a typed phone number or customer number belongs to, recording a visit."""
        operator = self._session.require()
        text = text.strip()
        if not storable(text):
            return NotFound(UNREADABLE)
        if phone_shape(text) == "whole":
            found = await self._identify_phone(text, operator)
            if not isinstance(found, NotFound) or found.register is not None:
                return found
        cached = self._cache.by_number(text)
        if cached is not None:
            return self._visit(cached, "cache", None, operator)
        client = self._client
        if client is None:
            return NotFound()
        try:
            page = await self._reach(lambda: client.search(text, limit=10))
            if page is None:
                return NotFound("not in the cache, and the CRM cannot be reached")
            match = next((row for row in page.items if row.customer_number == text), None)
            if match is None:
                return NotFound()
            customer = await self._reach(lambda: client.customer(match.id))
        except CrmError as refused:
            return NotFound(str(refused))
        if customer is None:
            return NotFound("not in the cache, and the CRM cannot be reached")
        return self._visit(customer, "crm", None, operator)

    async def _identify_phone(
        self, raw: str, operator: Operator
    ) -> Identification | Ambiguous | NotFound:
        try:
            # Active customers first, as the CRM answers: an inactive one is still identified
            # (and shown as such) when nobody active has the number.
            rows = self._cache.by_phone(raw) or self._cache.by_phone(raw, include_inactive=True)
            e164 = normalize_phone(raw, self._phone_region)
        except InvalidPhoneError:
            return NotFound("not a phone number")
        if len(rows) > 1:
            return Ambiguous(rows)
        if rows:
            cached = self._cache.get(rows[0].id)
            if cached is not None:
                return self._visit(cached, "cache", IdentifierKind.PHONE, operator)
        client = self._client
        if client is None:
            return NotFound()
        try:
            answer = await self._reach(lambda: client.identify(IdentifierKind.PHONE, e164))
        except CrmError as refused:  # not found, blocked card, ...: said in its own words
            return not_found_here(refused, self._context, IdentifierKind.PHONE, e164)
        if answer is None:
            return NotFound("not in the cache, and the CRM cannot be reached")
        return self._visit(answer.customer, "crm", IdentifierKind.PHONE, operator)

    def choose(self, customer_id: UUID) -> Identification | NotFound:
        """The customer the cashier picked from a search: recorded as a visit without a card."""
        operator = self._session.require()
        customer = self._cache.get(customer_id)
        if customer is None:
            return NotFound()
        return self._visit(customer, "cache", None, operator)

    def _visit(
        self,
        customer: CustomerOut,
        source: Literal["cache", "crm"],
        method: IdentifierKind | None,
        operator: Operator,
    ) -> Identification:
        offline = not self.online
        with self._db.write() as conn:
            if source == "crm":
                CustomerCache.store(conn, [customer])
            op = Outbox.enqueue(
                conn,
                type=OpType.VISIT,
                entity_id=customer.id,
                payload=VisitPayload(method=method),
                operator_id=operator.id,
                offline=offline,
                now=self._now(),
            )
        return Identification(customer, source, Saved(op, queued=offline))

    async def search(
        self, query: str, *, include_inactive: bool = False, limit: int = 50
    ) -> list[CustomerSummary]:
        """Customers matching a phone (whole or last digits), name, email, company or number:
        the cache, and the CRM only when the cache has nobody."""
        if not storable(query):
            return []
        found = self._cache.search(query, include_inactive=include_inactive, limit=limit)
        client = self._client
        if found or client is None:
            return found
        try:
            page = await self._reach(
                lambda: client.search(query, inactive=include_inactive, limit=limit)
            )
        except CrmError:  # the CRM refused this query text: nobody matches it there either
            return []
        return page.items if page is not None else []

    def cached_profile(self, customer_id: UUID) -> CustomerOut | None:
        """The cached record, at once (the scan path)."""
        return self._cache.get(customer_id)

    async def profile(self, customer_id: UUID) -> CustomerOut | None:
        """The customer, refreshed from the CRM when reachable (and cached), else the cache's."""
        fresh = await self._fresh(customer_id)
        return fresh if fresh is not None else self._cache.get(customer_id)

    async def history(
        self,
        customer_id: UUID,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[TransactionSummary] | Offline:
        """Transactions from `start` (inclusive) to `end` (exclusive), newest first."""
        return await self._online(
            "purchase history",
            lambda client: client.history(
                customer_id, start=start, end=end, limit=limit, offset=offset
            ),
        )

    async def receipt(self, transaction_id: UUID) -> Receipt | Offline:
        """One transaction as printed (reprint it unless the customer is go-green)."""
        return await self._online("a receipt", lambda client: client.receipt(transaction_id))
