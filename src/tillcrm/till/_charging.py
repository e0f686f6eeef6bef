"""Money: sales (earning points, charging points, stored value and store credit), point
redemptions, gift-card loads, balance inquiries, the stored-value card, loyalty and suites.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ValidationError

from tillcrm.api import (
    REVEAL_ACTION,
    CardReveal,
    CustomerOut,
    LoyaltyOut,
    OpType,
    PointsRedeem,
    SaleLineTender,
    SalePayload,
    StoredValueOut,
    SuiteRemove,
    SuitesOut,
)
from tillcrm.crm import CrmNotFound
from tillcrm.domain import (
    BoundAction,
    LimitBreach,
    Operator,
    OverrideApproval,
    TransactionLine,
)
from tillcrm.domain.ids import new_id
from tillcrm.local import (
    STORE_CREDIT_OWED,
    STORED_VALUE,
    AuditLog,
    AuditRecord,
    CustomerCache,
    Outbox,
    points_account,
)
from tillcrm.till._core import TillCore
from tillcrm.till._money import (
    Debits,
    debited,
    limit_breaches,
    offline_breaches,
    tender_problem,
)
from tillcrm.till._results import (
    BalanceInquiry,
    Declined,
    NotFound,
    Offline,
    OverrideRequired,
    Saved,
)

__all__ = ["Account", "Charging"]

Account = Literal["stored_value", "points", "store_credit"]

NO_STORED_VALUE_CARD = "this customer has no stored-value card: take another tender"


class Charging(TillCore):
    """Money on the customer's accounts, within the limits and the offline policy."""

    async def sale(
        self,
        customer_id: UUID,
        lines: Sequence[TransactionLine],
        tenders: Sequence[SaleLineTender],
        *,
        authorized_user_id: UUID | None = None,
        event_id: str | None = None,
        override: OverrideApproval | None = None,
    ) -> Saved | OverrideRequired | Declined:
        """A completed sale for the customer: earns points, and charges the account tenders
        (points, stored value, store credit) within the limits, or asks for an override.

        Store credit is charged by the customer, or by `authorized_user_id` when that person
        may invoice.
        """
        operator = self._session.require()
        problem = tender_problem(lines, tenders, self._context.organization.point_value)
        if problem:
            return Declined(problem)
        try:
            payload = SalePayload(
                transaction_id=new_id(),
                lines=list(lines),
                tenders=list(tenders),
                authorized_user_id=authorized_user_id,
                event_id=event_id,
            )
        except ValidationError as exc:
            return Declined.invalid(exc)
        debits = Debits.of_sale(payload)
        customer, stored_value = await self._for_charge(customer_id, debits)
        if customer is None:
            return Declined("unknown customer")
        if event_id is None and stored_value is not None and stored_value.current_event:
            # Stored value spent during an event counts toward that event's limit, whichever
            # screen rang the sale up.
            payload = payload.model_copy(update={"event_id": stored_value.current_event.id})
        if authorized_user_id is not None:
            user = next((u for u in customer.authorized_users if u.id == authorized_user_id), None)
            if user is None:
                return Declined("this person is not authorized for the customer")
            if debits.store_credit and not user.allow_invoicing:
                return Declined(f"{user.first_name} may not charge the house account")
        return self._charge(
            customer,
            OpType.SALE,
            payload.account_charge,
            debits,
            payload,
            operator,
            override,
            stored_value=stored_value,
        )

    async def redeem_points(
        self,
        customer_id: UUID,
        points: int,
        reason: str,
        *,
        override: OverrideApproval | None = None,
    ) -> Saved | OverrideRequired | Declined:
        """Spend points on a bonus outside a sale, within the balance and the offline caps."""
        operator = self._session.require()
        try:
            payload = PointsRedeem(points=points, reason=reason)
        except ValidationError as exc:
            return Declined.invalid(exc)
        debits = Debits(points=points)
        customer, _ = await self._for_charge(customer_id, debits)
        if customer is None:
            return Declined("unknown customer")
        return self._charge(
            customer, OpType.POINTS_REDEEM, points, debits, payload, operator, override
        )

    async def _for_charge(
        self, customer_id: UUID, debits: Debits
    ) -> tuple[CustomerOut | None, StoredValueOut | None]:
        """The freshest record a charge can be checked against; with stored value spent
        online, the card's live limits and their use in this event and season too."""
        fresh, holds_ours = await self._crm_record(customer_id)
        # A CRM record that may lack this till's own ops would let a charge past what they
        # spent: the cache holds them.
        customer = fresh if fresh is not None and holds_ours else self._cache.get(customer_id)
        client = self._client
        if fresh is None or not debits.stored_value or client is None:
            return customer, None
        try:
            live = await self._reach(lambda: client.stored_value(customer_id))
        except CrmNotFound:
            live = None
        return customer, live

    def _charge(
        self,
        customer: CustomerOut,
        kind: OpType,
        amount: int,
        debits: Debits,
        payload: BaseModel,
        operator: Operator,
        override: OverrideApproval | None,
        *,
        stored_value: StoredValueOut | None = None,
    ) -> Saved | OverrideRequired | Declined:
        refused = Declined.unstorable(payload)
        if refused is not None:
            return refused
        if debits.stored_value and customer.balances.stored_value is None:
            return Declined(NO_STORED_VALUE_CARD)  # no override makes a card: the CRM refuses
        offline = not self.online
        now = self._now()
        breaches: list[LimitBreach] = limit_breaches(
            customer,
            debits,
            points_brand=self._points_brand,
            category=self.promotion_category(customer),
            stored_value=stored_value,
            check_balances=not offline,
        )
        if offline and (debits.points or debits.stored_value):
            breaches += offline_breaches(
                customer,
                debits,
                points_brand=self._points_brand,
                pending=self._outbox.pending_offline_debits(),
                money_caps=self._money_caps,
                points_caps=self._points_caps,
                now=now,
            )
        action = BoundAction(
            customer_id=customer.id,
            kind=kind.value,
            amount=amount,
            limits=frozenset(b.kind for b in breaches),
        )
        if override is not None and not (
            override.cashier_id == operator.id
            and override.covers(customer.id, kind.value, amount, set(action.limits))
        ):
            return Declined("the supervisor's approval is for another action")
        if override is not None and self._outbox.approval_used(override.approval_id):
            return Declined("the supervisor's approval was already used for another action")
        if breaches and override is None:
            return OverrideRequired(action=action, cashier_id=operator.id, breaches=breaches)
        with self._db.write() as conn:
            op = Outbox.enqueue(
                conn,
                type=kind,
                entity_id=customer.id,
                payload=payload,
                operator_id=operator.id,
                override=override,
                offline=offline,
                debit=debits.offline if offline else None,
                now=now,
            )
            CustomerCache.store(conn, [debited(customer, debits, points_brand=self._points_brand)])
            if override is not None:
                AuditLog.append(
                    conn,
                    AuditRecord(
                        at=now,
                        action=f"override:{kind.value}",
                        operator_id=operator.id,
                        approver_id=override.supervisor_id,
                        customer_id=customer.id,
                        op_id=op.op_id,
                        detail=override.reason,
                    ),
                )
        return Saved(op, queued=offline)

    async def load_stored_value(
        self, customer_id: UUID, amount: int
    ) -> StoredValueOut | Offline | Declined:
        """Add money to the customer's stored-value card: online only.

        Loading the same amount again while the first try has no answer (a timeout, a lost
        answer) is a retry of it: the CRM applies it once.
        """
        operator = self._session.require()
        card = await self._once(
            self._action_digest("load", customer_id, amount),
            "loading a gift card",
            lambda client, key: client.load_stored_value(
                customer_id, amount, operator_id=operator.id, key=key
            ),
        )
        if isinstance(card, StoredValueOut):
            await self._fresh(customer_id)
        return card

    async def balance(
        self, customer_id: UUID, account: Account = "stored_value"
    ) -> BalanceInquiry | NotFound:
        """A balance: live from the CRM when reachable, else the cached balance with the time
        the CRM read it (less this till's own debits queued since)."""
        fresh, holds_ours = await self._crm_record(customer_id)
        if fresh is not None and holds_ours:  # else it may not show this till's own ops yet
            value = _record_balance(fresh, account, self._points_brand)
            return self._inquiry(value, fresh.balances.as_of, live=True)
        cached = self._cache.balance(customer_id, self._account_name(account))
        if cached is not None:
            return self._inquiry(cached.balance, cached.read_at, live=False)
        customer = self._cache.get(customer_id)  # no such account (no card assigned)
        if customer is None:
            return NotFound()
        return self._inquiry(None, customer.balances.as_of, live=False)

    def _inquiry(self, balance: int | None, as_of: datetime, *, live: bool) -> BalanceInquiry:
        return BalanceInquiry(
            balance=balance,
            currency=self._context.organization.currency,
            as_of=as_of,
            live=live,
            now=self._now(),
        )

    def _account_name(self, account: Account) -> str:
        """The cache's name for one of the customer's accounts at this till."""
        if account == "stored_value":
            return STORED_VALUE
        if account == "store_credit":
            return STORE_CREDIT_OWED
        return points_account(self._points_brand)

    async def stored_value(self, customer_id: UUID) -> StoredValueOut | Offline | NotFound:
        """The stored-value card (masked), its limits and their use in this event and season."""
        try:
            return await self._online(
                "the stored-value card", lambda client: client.stored_value(customer_id)
            )
        except CrmNotFound:
            return NotFound("no stored-value card assigned")

    async def reveal_card_number(
        self, customer_id: UUID, *, override: OverrideApproval | None = None
    ) -> str | Offline | Declined | OverrideRequired:
        """The full stored-value card number: only with a supervisor's approval of exactly
        this (the first call answers `OverrideRequired`); online only, and audited."""
        operator = self._session.require()
        if override is None:
            action = BoundAction(
                customer_id=customer_id, kind=REVEAL_ACTION, amount=0, limits=frozenset()
            )
            return OverrideRequired(action=action, cashier_id=operator.id, breaches=())
        shown = await self._online_write(
            "revealing the card number",
            lambda client: client.reveal_card_number(
                customer_id, override, operator_id=operator.id
            ),
        )
        return shown.card_number if isinstance(shown, CardReveal) else shown

    async def loyalty(self, customer_id: UUID) -> LoyaltyOut | Offline:
        """Points balances as the points policy shows them, and the ledger (online)."""
        return await self._online("the points ledger", lambda client: client.loyalty(customer_id))

    async def suites(self, customer_id: UUID) -> SuitesOut | Offline:
        """The customer's suites: ongoing, upcoming and closed (online; not cached), less the
        ones this till removed whose removal has not reached the CRM yet."""
        answer = await self._online("suites", lambda client: client.suites(customer_id))
        if isinstance(answer, Offline):
            return answer
        removed = {
            SuiteRemove.model_validate(payload).suite_id
            for payload in self._outbox.unsent_payloads(customer_id, OpType.SUITE_REMOVE)
        }
        kept = {
            group: [row for row in getattr(answer, group) if row.suite.id not in removed]
            for group in ("ongoing", "upcoming", "closed")
        }
        return answer.model_copy(update=kept)


def _record_balance(
    customer: CustomerOut, account: Account, points_brand: str | None
) -> int | None:
    """One balance of the CRM's record; None when the customer has no such account."""
    balances = customer.balances
    if account == "stored_value":
        return balances.stored_value
    if account == "store_credit":
        return balances.store_credit_owed
    own = next((p for p in balances.points if p.brand_id == points_brand), None)
    return own.balance if own else None
