"""The customer profile: a header naming the customer and seven tabs, built once per app.

Composing a seven-tab screen costs ~130 ms; showing one already built and updating its
widgets ~26 ms. So the app installs one `ProfileScreen` and calls `show_customer` for every
identification: the header and the visible tab refresh in place (its widgets looked up once,
not queried per scan), the other tabs only take the record and draw and load it when the
cashier opens them.
"""

from __future__ import annotations

from functools import cached_property
from typing import ClassVar
from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static, TabbedContent, TabPane

from tillcrm.api import CustomerOut
from tillcrm.receipts import ReceiptPrinter
from tillcrm.screens._base import TillScreen
from tillcrm.screens._text import INACTIVE_NOTE
from tillcrm.screens.profile._tab import ProfileContext, ProfileTab
from tillcrm.screens.profile.authorized import AuthorizedUsersTab
from tillcrm.screens.profile.history import HistoryTab
from tillcrm.screens.profile.info import InfoTab
from tillcrm.screens.profile.loyalty import LoyaltyTab
from tillcrm.screens.profile.stored_value import StoredValueTab
from tillcrm.screens.profile.suites import SuitesTab
from tillcrm.screens.profile.wallet import WalletTab
from tillcrm.till import TillService
from tillcrm.widgets.money import MoneyFormat

__all__ = ["ProfileScreen"]

_TABS: list[tuple[str, str, type[ProfileTab]]] = [
    ("info", "Info", InfoTab),
    ("history", "History", HistoryTab),
    ("loyalty", "Loyalty", LoyaltyTab),
    ("stored-value", "Stored value", StoredValueTab),
    ("wallet", "Wallet", WalletTab),
    ("authorized", "Authorized", AuthorizedUsersTab),
    ("suites", "Suites", SuitesTab),
]


def _pane_id(tab_id: str) -> str:
    return f"pane-{tab_id}"


_PANES = [_pane_id(tab_id) for tab_id, _, _ in _TABS]


class ProfileScreen(TillScreen[None]):
    """One customer's profile. Install it once; call `show_customer(id)` to show a customer."""

    CSS_PATH = "profile.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "sale", "Sale"),
        Binding("f3", "edit", "Edit"),
        Binding("ctrl+right", "next_tab", "Tab", key_display="^←/→"),
        Binding("ctrl+left", "previous_tab", "Previous tab", show=False),
        Binding("f4", "reload", "Refresh"),
        Binding("f6", "membership", "Label/status"),
    ]

    def __init__(
        self,
        till: TillService,
        money: MoneyFormat,
        *,
        phone_region: str = "US",
        printer: ReceiptPrinter | None = None,
    ) -> None:
        super().__init__()
        self._till = till
        self._money = money
        self._profile_context = ProfileContext(till, money, phone_region, printer)
        self.customer: CustomerOut | None = None
        self._mounted = False

    def compose_body(self) -> ComposeResult:
        """Header and tabs; the tabs stay empty until a customer is shown (Escape, the app's
        key, goes home)."""
        yield Static("", id="customer")
        with TabbedContent(id="tabs"):
            for tab_id, title, tab in _TABS:
                with TabPane(title, id=_pane_id(tab_id)):
                    yield tab(self._profile_context, id=tab_id)

    def on_mount(self) -> None:
        """Show the customer a scan brought while the screen was being composed."""
        self._mounted = True
        if self.customer is not None:
            customer, self.customer = self.customer, None
            self.show(customer)

    def show_customer(self, customer_id: UUID) -> None:
        """Show `customer_id` from the till's cache at once, then refresh from the CRM."""
        customer = self._till.cached_profile(customer_id)
        if customer is not None:
            self.show(customer)
        self._refresh_from_crm(customer_id)

    def show(self, customer: CustomerOut) -> None:
        """Show `customer` (a record the caller already has, e.g. from an identification).

        Another customer opens on the first tab (Info: flags, tags, VIP), not on whichever tab
        the last customer was left on; a refresh of the same customer keeps the cashier's tab.
        A customer scanned while the screen is still being composed (right after login) is
        shown once it is mounted.
        """
        if not self._mounted:
            self.customer = customer
            return
        tabs = self._tabbed
        if self.customer is None or self.customer.id != customer.id:
            tabs.active = _pane_id(_TABS[0][0])
        self.customer = customer
        header = self._title
        header.update(_header(customer), layout=False)  # one line high, whatever it says
        header.set_class(not customer.profile.flags.active, "inactive")
        for tab in self._tabs.values():
            tab.show_customer(customer)
        self._tabs[tabs.active].reload()

    @cached_property
    def _tabbed(self) -> TabbedContent:
        return self.query_one(TabbedContent)

    @cached_property
    def _title(self) -> Static:
        return self.query_one("#customer", Static)

    @cached_property
    def _tabs(self) -> dict[str, ProfileTab]:
        """Each tab by the id of its pane (a scan looks them up here, not in the DOM)."""
        return {pane_id: self.query_one(f"#{pane_id} ProfileTab", ProfileTab) for pane_id in _PANES}

    @work(group="profile-refresh", exclusive=True)
    async def _refresh_from_crm(self, customer_id: UUID) -> None:
        """Ask the CRM for the customer; the facade caches its record unless this till has
        changes of its own still queued, so the cache is what the till holds to be true."""
        fresh = await self._till.profile(customer_id)
        current = self._till.cached_profile(customer_id) or fresh
        if current is None or self.customer is None or current.id != self.customer.id:
            return
        if current != self.customer:
            self.show(current)

    @on(TabbedContent.TabActivated)
    def _load_opened_tab(self, event: TabbedContent.TabActivated) -> None:
        tab = self._tabs[event.pane.id or ""]
        if tab.stale:
            tab.reload()

    @on(ProfileTab.CustomerChanged)
    def _reload_changed(self, event: ProfileTab.CustomerChanged) -> None:
        event.stop()
        self._after_change()

    def action_sale(self) -> None:
        """Open the sale panel for this customer; the profile refreshes when it closes."""
        from tillcrm.screens.sale import SaleScreen

        if self.customer is not None:
            screen = SaleScreen(
                self._till, self._money, self.customer, self._profile_context.printer
            )
            self.app.push_screen(screen, lambda _: self._after_change())

    def action_edit(self) -> None:
        """Open the customer form on this customer."""
        from tillcrm.screens.customer_form import CustomerFormScreen

        if self.customer is not None:
            screen = CustomerFormScreen(
                self._till,
                self._money,
                self.customer,
                phone_region=self._profile_context.phone_region,
            )
            self.app.push_screen(screen, lambda _: self._after_change())

    def action_membership(self) -> None:
        """This organization's own label, status and marketing SMS for the customer."""
        from tillcrm.screens.membership import MembershipScreen

        if self.customer is not None:
            screen = MembershipScreen(self._till, self.customer)
            self.app.push_screen(screen, lambda _: self._after_change())

    def action_reload(self) -> None:
        """Reload the customer and the visible tab."""
        self._after_change()

    def action_next_tab(self) -> None:
        """The tab to the right."""
        self._step_tab(1)

    def action_previous_tab(self) -> None:
        """The tab to the left."""
        self._step_tab(-1)

    def _step_tab(self, step: int) -> None:
        tabs = self._tabbed
        tabs.active = _PANES[(_PANES.index(tabs.active) + step) % len(_PANES)]

    def _after_change(self) -> None:
        if self.customer is not None:
            self.show_customer(self.customer.id)


def _header(customer: CustomerOut) -> str:
    profile = customer.profile
    name = " ".join(p for p in (profile.first_name, profile.last_name) if p) or profile.company
    parts = [f"#{profile.customer_number or '-'}", name or "(no name)"]
    if profile.flags.vip:
        parts.append("VIP")
    if not profile.flags.active:
        parts.append(INACTIVE_NOTE)
    return "  ".join(parts)
