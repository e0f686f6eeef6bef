"""Saved payment cards, straight through to the CRM (never queued)."""

from __future__ import annotations

from uuid import UUID

from tillcrm.api import WalletAdd, WalletCardOut, WalletUpdate
from tillcrm.crm import CrmClient, CrmNotFound
from tillcrm.till._core import TillCore
from tillcrm.till._results import Declined, Offline

__all__ = ["WalletAccess"]

_WALLET = "the wallet"


class WalletAccess(TillCore):
    """Saved payment cards, straight through to the CRM (never queued)."""

    async def wallet(self, customer_id: UUID) -> list[WalletCardOut] | Offline:
        """The customer's saved cards: brand, last 4, expiry and label."""
        return await self._online(_WALLET, lambda client: client.wallet(customer_id))

    async def add_wallet_card(
        self, customer_id: UUID, card: WalletAdd
    ) -> WalletCardOut | Offline | Declined:
        """Save a card: the number goes to the CRM to be tokenized and is not kept here.

        Adding the same card again while the first try has no answer is a retry of it: the
        CRM saves the card once.
        """
        operator = self._session.require()
        action = self._action_digest(
            "wallet", customer_id, card.card_number.get_secret_value(), card.exp_month,
            card.exp_year,
        )  # fmt: skip
        return await self._once(
            action,
            _WALLET,
            lambda client, key: client.add_wallet_card(
                customer_id, card, operator_id=operator.id, key=key
            ),
        )

    async def update_wallet_card(
        self, customer_id: UUID, card_id: UUID, changes: WalletUpdate
    ) -> WalletCardOut | Offline | Declined:
        """Change a saved card's expiry or label."""
        operator = self._session.require()
        return await self._online_write(
            _WALLET,
            lambda client: client.update_wallet_card(
                customer_id, card_id, changes, operator_id=operator.id
            ),
        )

    async def remove_wallet_card(self, customer_id: UUID, card_id: UUID) -> bool | Offline:
        """Forget a saved card; False when there is no such card."""
        operator = self._session.require()

        async def remove(client: CrmClient) -> bool:
            await client.remove_wallet_card(customer_id, card_id, operator_id=operator.id)
            return True

        try:
            return await self._online(_WALLET, remove)
        except CrmNotFound:
            return False
