"""The organization frameworks on the wire: registering a parent's customer at a child, and
what each organization keeps of its own about a customer (label, status, subscription)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from tillcrm.domain import IdentifierKind, Text

__all__ = ["REGISTERED_AT_PARENT", "CustomerRegister", "MembershipUpdate", "RegisterPayload"]

REGISTERED_AT_PARENT = "registered_at_parent"
"""The code of the 404 a connected child's till gets when it identifies a customer of its
parent who is not registered at the child: the cashier may register them there."""


class CustomerRegister(BaseModel):
    """Register the connected parent's customer who presents this card or phone at this child.

    The customer inherits the parent's standard fields and parent-level extended and custom
    fields; the child's own label, status and subscription start empty.
    """

    kind: IdentifierKind
    value: Annotated[Text, Field(min_length=1, max_length=128)]
    marketing_sms: bool = False
    """Whether the customer subscribes to this organization's marketing SMS."""


class RegisterPayload(BaseModel):
    """customer_register: register the customer (`entity_id`) at the till's child organization."""

    marketing_sms: bool = False


class MembershipUpdate(BaseModel):
    """membership_update: what the till's organization keeps of its own about the customer.

    Label and status are the organization's (connected organizations keep one each); the
    marketing-SMS subscription is per connected organization or per unit. Unset fields stay.
    """

    label: Annotated[Text, Field(max_length=60)] | None = None
    status: Annotated[Text, Field(max_length=30)] | None = None
    marketing_sms: bool | None = None
