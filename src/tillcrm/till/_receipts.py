"""The receipt of a sale this till just recorded, from its outbox op and the cache.

Printed at once, online or not, so nothing here waits for the CRM: the number is the till's
own (the op's per-till sequence number; the CRM numbers the transaction when it is pushed),
the points earned are counted as the CRM will count them, and the balances are the cached
ones after the sale.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from tillcrm.api import SalePayload
from tillcrm.domain import Tender, TenderKind, points_earned
from tillcrm.receipts import PrintedReceipt
from tillcrm.till._core import TillCore
from tillcrm.till._money import points_balance
from tillcrm.till._results import Saved

__all__ = ["Receipts"]


class Receipts(TillCore):
    """What a printed receipt says about a sale made here."""

    def sale_receipt(self, saved: Saved) -> PrintedReceipt:
        """The receipt of the sale `saved` recorded (`TillService.sale`)."""
        op = saved.op
        sale = SalePayload.model_validate(op.payload)
        customer = self._cache.get(op.entity_id)
        context = self._context
        total = sum(line.total for line in sale.lines)
        by_points = [t for t in sale.tenders if t.kind is TenderKind.POINTS]
        redeemed = sum(t.points or 0 for t in by_points)
        earned = 0
        points_after = stored_value_after = None
        if customer is not None:
            earned = points_earned(
                total - sum(t.amount for t in by_points),
                context.organization.currency,
                self.promotion_category(customer),
                loyalty_enabled=customer.profile.flags.loyalty_enabled,
            )
            own = points_balance(customer, self._points_brand)
            if own is not None or earned:  # the first points earned open the account
                points_after = (own.balance if own is not None else 0) + earned
            stored_value_after = customer.balances.stored_value
        cashier = self._operators.get(op.operator_id)
        return PrintedReceipt(
            number=f"{op.seq or 0:08d}",
            at=op.local_ts.astimezone(ZoneInfo(context.store.timezone)),
            store=context.store.name,
            till=context.till_name,
            cashier=cashier.name if cashier is not None else None,
            currency=context.organization.currency,
            items=sale.lines,
            tenders=[Tender(kind=t.kind, amount=t.amount) for t in sale.tenders],
            points_earned=earned,
            points_redeemed=redeemed,
            points_balance=points_after,
            stored_value_balance=stored_value_after,
            go_green=customer is not None and customer.profile.flags.go_green,
        )
