"""Saved payment cards, straight through to the CRM (never queued)."""

from __future__ import annotations

from uuid import UUID

from tillcrm.api import WalletAdd, WalletCardOut, WalletUpdate
from tillcrm.crm import CrmError, CrmNotFound
from tillcrm.till._core import TillCore
from tillcrm.till._results import Declined, Offline

__all__ = ["WalletAccess"]


class WalletAccess(TillCore):
    """Saved payment cards, straight through to the CRM (never queued)."""

    async def wallet(self, customer_id: UUID) -> list[WalletCardOut] | Offline:
        """The customer's saved cards: brand, last 4, expiry and label."""
        client = self._client
        cards = await self._reach(lambda: client.wallet(customer_id)) if client else None
        return cards if cards is not None else Offline("the wallet")

    async def add_wallet_card(
        self, customer_id: UUID, card: WalletAdd
    ) -> WalletCardOut | Offline | Declined:
        """Save a card: the number goes to the CRM to be tokenized and is not kept here."""
        operator = self._session.require()
        client = self._client
        if client is None:
            return Offline("the wallet")
        try:
            saved = await self._reach(
                lambda: client.add_wallet_card(customer_id, card, operator_id=operator.id)
            )
        except CrmError as exc:
            return Declined(str(exc))
        return saved if saved is not None else Offline("the wallet")

    async def update_wallet_card(
        self, customer_id: UUID, card_id: UUID, changes: WalletUpdate
    ) -> WalletCardOut | Offline | Declined:
        """Change a saved card's expiry or label."""
        operator = self._session.require()
        client = self._client
        if client is None:
            return Offline("the wallet")
        try:
            saved = await self._reach(
                lambda: client.update_wallet_card(
                    customer_id, card_id, changes, operator_id=operator.id
                )
            )
        except CrmError as exc:
            return Declined(str(exc))
        return saved if saved is not None else Offline("the wallet")

    async def remove_wallet_card(self, customer_id: UUID, card_id: UUID) -> bool | Offline:
        """Forget a saved card; False when there is no such card."""
        operator = self._session.require()
        client = self._client
        if client is None:
            return Offline("the wallet")

        async def remove() -> bool:
            await client.remove_wallet_card(customer_id, card_id, operator_id=operator.id)
            return True

        try:
            done = await self._reach(remove)
        except CrmNotFound:
            return False
        return done if done is not None else Offline("the wallet")
