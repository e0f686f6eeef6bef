"""The Info tab: who the customer is, their flags and groups, the organization context the
cashier sees them in (this org's label and status, the extended and custom fields visible here,
the points balances the policy gives), and how they use the business (transactions, average
spend, last purchase, touchpoints: the stores and tills they bought at).

The record's own fields render synchronously from the cached customer, so a scan shows them in
the same frame; the activity figures are summed from the purchase history in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.widgets import Static

from tillcrm.api import CustomerOut, TransactionSummary
from tillcrm.domain import PromotionCategory, display_phone, mask_license, mask_tail
from tillcrm.domain.formats import format_day, format_moment
from tillcrm.screens._text import INACTIVE_NOTE
from tillcrm.screens.profile._tab import ProfileTab
from tillcrm.till import Offline, OrgProfile
from tillcrm.widgets.money import MoneyFormat
from tillcrm.widgets.redraw import redraw

__all__ = ["Activity", "InfoTab", "summarize"]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _category_name(category: PromotionCategory | None, wanted: str | None) -> str:
    """The category's name; its id when the till does not know it (a category added at the
    CRM since the till's context was read), so the cashier still sees that there is one."""
    if category is not None:
        return category.name
    return wanted or "-"


class InfoTab(ProfileTab):
    """The customer record, flags and activity."""

    def compose(self) -> ComposeResult:
        """Details, flags, activity."""
        yield Static("", id="info-details")
        yield Static("", id="info-flags")
        yield Static("", id="info-org")
        yield Static("", id="info-activity")

    def draw(self, customer: CustomerOut) -> None:
        """Render the record now: this is the scan path, no waiting on anything."""
        p = customer.profile
        address = ", ".join(
            part
            for part in (
                p.address.line1,
                p.address.line2,
                p.address.city,
                p.address.region,
                p.address.postal_code,
                p.address.country,
            )
            if part
        )
        credit = self.money.format(p.store_credit_limit) if p.store_credit_limit else "none"
        limit = (
            self.money.format(p.transaction_limit) if p.transaction_limit is not None else "none"
        )
        cards = ", ".join(
            f"{card.kind.value} {mask_tail(card.value)}"
            + (" (blocked)" if card.status.value == "blocked" else "")
            for card in customer.identifiers
        )
        points = ", ".join(
            f"{b.balance}" + (f" at {self.till.brand_name(b.brand_id)}" if b.brand_id else "")
            for b in customer.balances.points
        )
        details = [
            f"Customer number {p.customer_number or '(assigned by the CRM)'}",
            f"Name      {p.first_name} {p.last_name}".rstrip(),
            f"Company   {p.company or '-'}",
            f"Mobile    {self._phone(p.mobile)}   Phone {self._phone(p.phone)}",
            f"Email     {p.email or '-'}",
            f"Address   {address or '-'}",
            f"Licence   {mask_license(p.drivers_license) if p.drivers_license else '-'}"
            f"   Born {format_day(p.date_of_birth, self.money.locale) if p.date_of_birth else '-'}",
            f"Limits    store credit {credit}, per transaction {limit}",
            f"Points    {points or '0'}",
            f"Cards     {cards or '-'}",
        ]
        if p.comments:
            details.append(f"Comments  {p.comments}")
        redraw(self.query_one("#info-details", Static), "\n".join(details))
        flags = p.flags
        category = _category_name(self.till.promotion_category(customer), p.promotion_category_id)
        flag_lines = [
            INACTIVE_NOTE if not flags.active else "Active",
            f"VIP {_yes(flags.vip)}   Go green {_yes(flags.go_green)}   "
            f"Loyalty {_yes(flags.loyalty_enabled)}   Marketing SMS {_yes(flags.marketing_sms)}",
            f"Tags      {', '.join(p.tags) or '-'}",
            f"Groups    {', '.join(p.group_ids) or '-'}",
            f"Promotion {category}",
        ]
        flags_widget = self.query_one("#info-flags", Static)
        redraw(flags_widget, "\n".join(flag_lines))
        flags_widget.set_class(not flags.active, "inactive")
        redraw(self.query_one("#info-org", Static), _org_lines(self.till.org_profile(customer)))
        redraw(self.query_one("#info-activity", Static), "")

    def _phone(self, number: str | None) -> str:
        """A stored number as the cashier reads it, in the till's phone region."""
        return display_phone(number, self.context.phone_region) or "-"

    async def load(self, customer: CustomerOut) -> None:
        """Transactions, average spend, last purchase and touchpoints, from the history."""
        rows: list[TransactionSummary] = []
        offset: int | None = 0
        while offset is not None and len(rows) < _MAX_ROWS:
            page = await self.till.history(customer.id, limit=_PAGE, offset=offset)
            if isinstance(page, Offline):
                self.query_one("#info-activity", Static).update(f"Activity: {page.message}")
                return
            rows += page.items
            offset = page.next_offset
        activity = summarize(rows, more=offset is not None)
        self.query_one("#info-activity", Static).update(activity.describe(self.money, self.zone))


def _org_lines(org: OrgProfile) -> str:
    """The organization section: where the cashier stands, who shares the customer, this
    organization's own label and status, the fields and balances seen here (its own
    marketing-SMS choice is on the flags line)."""
    lines = [
        f"Seen at   {org.context}",
        f"Shared    {org.sharing}",
        f"Label     {org.label or '-'}   Status {org.status or '-'}",
    ]
    lines += [f"{title:<9} {value or '-'}" for title, value in org.fields]
    lines.append("Balances  " + ", ".join(f"{name} {balance}" for name, balance in org.points))
    return "\n".join(lines)


_PAGE = 200
"""Transactions per history request (the CRM's largest page)."""
_MAX_ROWS = 1000
"""The most transactions the Info tab reads; past this it says "1000+"."""


@dataclass(frozen=True)
class Activity:
    """How a customer uses the business, from their purchase history."""

    transactions: int
    more: bool
    """There are more transactions than were read."""
    total: int
    currency: str | None
    last_purchase: datetime | None
    stores: tuple[str, ...]
    tills: tuple[str, ...]

    def describe(self, money: MoneyFormat, zone: ZoneInfo) -> str:
        """Two lines for the Info tab, the last purchase in the store's `zone` and the money's
        locale."""
        if not self.transactions or self.currency is None:
            return "Transactions 0   No purchases yet."
        count = f"{self.transactions}{'+' if self.more else ''}"
        average = money.format(self.total // self.transactions, self.currency)
        last = format_moment(self.last_purchase, zone, money.locale) if self.last_purchase else "-"
        return (
            f"Transactions {count}   Average spend {average}   Last purchase {last}\n"
            f"Touchpoints  stores {', '.join(self.stores)}; tills {', '.join(self.tills)}"
        )


def summarize(rows: list[TransactionSummary], *, more: bool) -> Activity:
    """The activity of `rows` (newest first, as the history returns them)."""
    return Activity(
        transactions=len(rows),
        more=more,
        total=sum(row.total for row in rows),
        currency=rows[0].currency if rows else None,
        last_purchase=rows[0].at if rows else None,
        stores=tuple(sorted({row.store_name for row in rows})),
        tills=tuple(sorted({row.till_name for row in rows})),
    )
