"""Customer records changed on the till: each change is a cache write plus its op."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from pydantic import BaseModel, ValidationError

from tillcrm.api import (
    AuthorizedUserAdd,
    AuthorizedUserRemove,
    CustomerCreatePayload,
    CustomerOut,
    CustomerUpdatePayload,
    OpType,
    SuiteRemove,
)
from tillcrm.domain import AuthorizedUser, CustomerProfile, Identifier, Operator
from tillcrm.domain.org_fields import field_patch, refused_field_names
from tillcrm.local import CustomerCache, Outbox
from tillcrm.till._core import TillCore
from tillcrm.till._customers import edited, new_customer, unknown_fields, with_authorized_users
from tillcrm.till._results import Declined, EditConflict, Saved

__all__ = ["CustomerEditing"]


class CustomerEditing(TillCore):
    """Customer records changed on the till: each change is a cache write plus its op."""

    def create_customer(
        self,
        profile: CustomerProfile,
        identifiers: Sequence[Identifier] = (),
        authorized_users: Sequence[AuthorizedUser] = (),
    ) -> Saved | Declined:
        """A new customer, offline too; `Saved.op.entity_id` is their (client-made) id."""
        operator = self._session.require()
        refused = refused_field_names(profile.custom_fields, self._context.fields)
        if refused is not None:
            return Declined(refused)
        for card in identifiers:
            if self._cache.by_identifier(card.kind, card.value):
                return Declined(f"this {card.kind.value} already belongs to a customer")
        now = self._now()
        customer = new_customer(
            profile,
            identifiers,
            authorized_users,
            org_id=self._context.organization.id,
            brand_id=self._owner_brand,
            now=now,
        )
        payload = CustomerCreatePayload(
            profile=profile,
            identifiers=list(identifiers),
            authorized_users=list(authorized_users),
        )
        return self._write(customer, OpType.CUSTOMER_CREATE, payload, operator, base_version=None)

    async def edit_customer(
        self, customer_id: UUID, changes: Mapping[str, object], base_version: int
    ) -> Saved | EditConflict | Declined:
        """Change profile fields, against the version the form was opened on.

        When the customer changed since (here, or at the CRM when it can be asked), nothing is
        saved and the answer holds both versions. `custom_fields` is a `FieldPatch` (by name,
        None removes one), refused as the CRM refuses it when it names an undefined field.
        """
        operator = self._session.require()
        unknown = unknown_fields(changes)
        if unknown:
            return Declined(f"not customer fields: {', '.join(unknown)}")
        try:
            patch = field_patch(changes.get("custom_fields", {}))
        except ValidationError as exc:
            return Declined.invalid(exc)
        refused = refused_field_names(patch, self._context.fields)
        if refused is not None:
            return Declined(refused)
        fresh = await self._fresh(customer_id)
        current = self._cache.get(customer_id)
        if current is None:
            return Declined("unknown customer")
        theirs = fresh if fresh is not None and fresh.version > current.version else current
        if theirs.version != base_version:
            return EditConflict(mine=dict(changes), theirs=theirs, base_version=base_version)
        try:
            changed = edited(current, changes, self._now())
        except ValidationError as exc:
            return Declined.invalid(exc)
        payload = CustomerUpdatePayload(changes=dict(changes))
        return self._write(
            changed, OpType.CUSTOMER_UPDATE, payload, operator, base_version=base_version
        )

    def add_authorized_user(self, customer_id: UUID, user: AuthorizedUser) -> Saved | Declined:
        """Authorize a person to act for the customer (offline too)."""
        operator = self._session.require()
        customer = self._cache.get(customer_id)
        if customer is None:
            return Declined("unknown customer")
        users = [u for u in customer.authorized_users if u.id != user.id] + [user]
        return self._write(
            with_authorized_users(customer, users),
            OpType.AUTHORIZED_USER_ADD,
            AuthorizedUserAdd(user=user),
            operator,
        )

    def remove_authorized_user(self, customer_id: UUID, user_id: UUID) -> Saved | Declined:
        """Withdraw a person's authorization (offline too)."""
        operator = self._session.require()
        customer = self._cache.get(customer_id)
        if customer is None:
            return Declined("unknown customer")
        users = [u for u in customer.authorized_users if u.id != user_id]
        if len(users) == len(customer.authorized_users):
            return Declined("this person is not authorized for the customer")
        return self._write(
            with_authorized_users(customer, users),
            OpType.AUTHORIZED_USER_REMOVE,
            AuthorizedUserRemove(user_id=user_id),
            operator,
        )

    def remove_suite(self, customer_id: UUID, suite_id: UUID) -> Saved | Declined:
        """Take a suite off the customer, through the outbox (offline too). Suites are not
        cached, so only the op is written; the CRM refuses a suite the customer does not have."""
        operator = self._session.require()
        customer = self._cache.get(customer_id)
        if customer is None:
            return Declined("unknown customer")
        return self._write(customer, OpType.SUITE_REMOVE, SuiteRemove(suite_id=suite_id), operator)

    def _write(
        self,
        record: CustomerOut,
        kind: OpType,
        payload: BaseModel,
        operator: Operator,
        *,
        base_version: int | None = None,
    ) -> Saved | Declined:
        """The cache change and its op, in one transaction; nothing when the payload cannot
        be stored."""
        refused = Declined.unstorable(payload)
        if refused is not None:
            return refused
        offline = not self.online
        with self._db.write() as conn:
            CustomerCache.store(conn, [record])
            op = Outbox.enqueue(
                conn,
                type=kind,
                entity_id=record.id,
                payload=payload,
                operator_id=operator.id,
                base_version=base_version,
                offline=offline,
                now=self._now(),
            )
        return Saved(op, queued=offline)
