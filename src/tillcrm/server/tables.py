"""The CRM's tables (SQLAlchemy Core). Alembic migrations create them; tests read them directly.

Balances are kept beside their append-only ledgers and changed in the same transaction as the
ledger row, whose primary key includes the op id: a resent op cannot move a balance twice.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "NOT_A_CARD",
    "SEARCH_ONLY_OBJECTS",
    "applied_ops",
    "audit_log",
    "authorized_users",
    "brands",
    "counters",
    "customer_registrations",
    "customer_subscriptions",
    "customers",
    "customers_search",
    "enrollment_codes",
    "events",
    "field_definitions",
    "identifiers",
    "metadata",
    "operator_stores",
    "operators",
    "org_settings",
    "organizations",
    "override_approvals",
    "points_accounts",
    "points_ledger",
    "promotion_categories",
    "seasons",
    "store_credit_ledger",
    "stored_value_cards",
    "stored_value_ledger",
    "stores",
    "suites",
    "supervisor_verifications",
    "till_sync",
    "tills",
    "transactions",
    "visits",
    "wallet_cards",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = sa.String(64)
When = sa.DateTime(timezone=True)


def _customer_fk() -> sa.Column[object]:
    return sa.Column("customer_id", sa.Uuid, sa.ForeignKey("customers.id"), nullable=False)


organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("customer_scope", sa.String(16), nullable=False),
    sa.Column("points_policy", sa.String(16), nullable=False),
    sa.Column("parent_id", Id, sa.ForeignKey("organizations.id")),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("point_value", sa.Integer, nullable=False, server_default="1"),
)

brands = sa.Table(
    "brands",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
)

stores = sa.Table(
    "stores",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("brand_id", Id, sa.ForeignKey("brands.id"), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
)

tills = sa.Table(
    "tills",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("store_id", Id, sa.ForeignKey("stores.id"), nullable=False),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("enrolled_at", When, nullable=False),
    sa.Column("revoked_at", When),
)
"""A till whose `revoked_at` is set is refused at once: its token no longer authenticates."""

till_sync = sa.Table(
    "till_sync",
    metadata,
    sa.Column("till_id", Id, sa.ForeignKey("tills.id"), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
)
"""One row per till, locked by every push so a till's ops apply strictly in seq order."""

enrollment_codes = sa.Table(
    "enrollment_codes",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("store_id", Id, sa.ForeignKey("stores.id"), nullable=False),
    sa.Column("created_at", When, nullable=False),
    sa.Column("expires_at", When, nullable=False),
    sa.Column("used_by_till", Id),
)

operators = sa.Table(
    "operators",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("code", sa.String(16), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("pin_hash", sa.String(200), nullable=False),
    sa.Column("badge_hash", sa.String(200)),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("wrong_pins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", When),
    sa.UniqueConstraint("org_id", "code"),
)
"""`wrong_pins` and `locked_until` count the wrong PINs and badges tills sent the CRM to verify
(`server.verification`): kept here, so a restart of the CRM does not lift a lockout."""

operator_stores = sa.Table(
    "operator_stores",
    metadata,
    sa.Column("operator_id", Id, sa.ForeignKey("operators.id"), primary_key=True),
    sa.Column("store_id", Id, sa.ForeignKey("stores.id"), primary_key=True),
)
"""The stores an operator may work at; an operator without rows may work at every store
their organization reaches (its own and, for a connected parent, its children's)."""

promotion_categories = sa.Table(
    "promotion_categories",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("discount_percent", sa.Integer, nullable=False),
    sa.Column("points_per_unit", sa.Integer, nullable=False),
    sa.Column("credit_limit", sa.BigInteger),
)

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
"""Monotonic counters: `changes` orders customer changes for pull; `customer_number` numbers
new customers. The row is locked by the writing transaction, so values follow commit order."""

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("brand_id", Id, sa.ForeignKey("brands.id")),
    sa.Column("customer_number", sa.String(32), nullable=False),
    sa.Column("first_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("last_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("company", sa.String(200), nullable=False, server_default=""),
    sa.Column("mobile", sa.String(16)),
    sa.Column("mobile_rev", sa.String(16)),
    sa.Column("phone", sa.String(16)),
    sa.Column("email", sa.String(320)),
    sa.Column("search_text", sa.String(1200), nullable=False, server_default=""),
    sa.Column("profile", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("store_credit_owed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("change_seq", sa.BigInteger, nullable=False),
    sa.Column("created_at", When, nullable=False),
    sa.Column("updated_at", When, nullable=False),
    sa.UniqueConstraint("org_id", "customer_number"),
    sa.Index("ix_customers_org_mobile", "org_id", "mobile"),
    sa.Index("ix_customers_org_mobile_rev", "org_id", "mobile_rev"),
    sa.Index("ix_customers_org_change_seq", "org_id", "change_seq"),
    sa.Index("ix_customers_org_brand_change_seq", "org_id", "brand_id", "change_seq"),
    sa.Index("ix_customers_org_phone", "org_id", "phone"),
)
"""`profile` holds the whole `CustomerProfile`; the columns beside it are what is searched and
filtered on. `search_text` is the lower-cased names, company, email and number, for substring
search; `mobile_rev` the reversed digits, for last-digits lookup."""

customers_search = sa.table("customers_search", sa.column("rowid", sa.Integer))
"""SQLite only: the FTS5 trigram index over `customers.search_text` (its rowid is the
customer's rowid), made and kept in step by migration 0002. Not in `metadata`: PostgreSQL
searches the same column through a GIN trigram index instead."""

SEARCH_ONLY_OBJECTS = frozenset({"customers_search", "ix_customers_search_trgm"})
"""Search machinery that migration 0002 makes on one kind of database and `metadata` leaves
out: the SQLite FTS5 table (whose shadow tables are named `customers_search_*`) and the
PostgreSQL trigram index."""

customer_registrations = sa.Table(
    "customer_registrations",
    metadata,
    _customer_fk(),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("label", sa.String(60), nullable=False, server_default=""),
    sa.Column("status", sa.String(30), nullable=False, server_default=""),
    sa.Column("custom_fields", sa.JSON, nullable=False),
    sa.Column("registered_at", When, nullable=False),
    sa.PrimaryKeyConstraint("customer_id", "org_id"),
)
"""Per-organization facts about a customer: the owner's own row, and one per connected child
where the customer registered (label, status and child-private fields); marketing-SMS choices
are in `customer_subscriptions`."""

customer_subscriptions = sa.Table(
    "customer_subscriptions",
    metadata,
    _customer_fk(),
    sa.Column("scope_id", Id, nullable=False),
    sa.Column("marketing_sms", sa.Boolean, nullable=False),
    sa.Column("updated_at", When, nullable=False),
    sa.PrimaryKeyConstraint("customer_id", "scope_id"),
)
"""Marketing-SMS subscriptions kept per connected organization or per organization unit
(`domain.org_fields.subscription_scope_id`); a standard organization keeps the profile flag."""

field_definitions = sa.Table(
    "field_definitions",
    metadata,
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("label", sa.String(120), nullable=False, server_default=""),
    sa.PrimaryKeyConstraint("org_id", "name"),
)
"""Extended and custom customer fields, each defined by one organization: a connected parent's
are shared with its children, a child's are private to it."""

org_settings = sa.Table(
    "org_settings",
    metadata,
    sa.Column("owner_id", Id, nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("value", sa.String(500), nullable=False),
    sa.PrimaryKeyConstraint("owner_id", "key"),
)
"""Configuration of an organization, a brand or an organization unit (`owner_id`), merged
by `domain.org_fields.effective_settings` (a connected parent's override its children's)."""

NOT_A_CARD = sa.text("kind <> 'phone'")
"""The identifiers that are cards (barcode, magstripe, RFID): a phone number may be shared."""

identifiers = sa.Table(
    "identifiers",
    metadata,
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("value", sa.String(128), nullable=False),
    _customer_fk(),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("family_id", Id, sa.ForeignKey("organizations.id"), nullable=False),
    sa.PrimaryKeyConstraint("org_id", "kind", "value"),
    sa.Index("ix_identifiers_customer_cards", "customer_id", "kind", "value", "org_id", "status"),
    sa.Index(
        "uq_identifiers_family_card",
        "family_id",
        "kind",
        "value",
        unique=True,
        sqlite_where=NOT_A_CARD,
        postgresql_where=NOT_A_CARD,
    ),
)
"""`org_id` is the organization the identifier is kept under (a connected child keeps its own
loyalty cards); `family_id` the root of the organizations that see each other's customers
(`domain.family_id`). The partial unique index makes a card identify at most one customer in
a family, whichever till adds it: two tills racing for one card cannot both have it."""

authorized_users = sa.Table(
    "authorized_users",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    _customer_fk(),
    sa.Column("first_name", sa.String(200), nullable=False),
    sa.Column("last_name", sa.String(200), nullable=False),
    sa.Column("phone", sa.String(16)),
    sa.Column("allow_invoicing", sa.Boolean, nullable=False),
    sa.Column("allow_preorders", sa.Boolean, nullable=False),
    sa.Index("ix_authorized_users_customer", "customer_id"),
)

points_accounts = sa.Table(
    "points_accounts",
    metadata,
    _customer_fk(),
    sa.Column("account", Id, nullable=False),
    sa.Column("balance", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("customer_id", "account"),
)
"""`account` is a brand id, or '' for the organization's shared pool."""

points_ledger = sa.Table(
    "points_ledger",
    metadata,
    sa.Column("op_id", sa.Uuid, nullable=False),
    _customer_fk(),
    sa.Column("account", Id, nullable=False),
    sa.Column("delta", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("till_id", Id),
    sa.Column("at", When, nullable=False),
    sa.PrimaryKeyConstraint("op_id", "customer_id", "account"),
    sa.Index("ix_points_ledger_customer", "customer_id", "at"),
)

seasons = sa.Table(
    "seasons",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("starts_at", When, nullable=False),
    sa.Column("ends_at", When, nullable=False),
    sa.Column("season_id", Id, sa.ForeignKey("seasons.id")),
)

stored_value_cards = sa.Table(
    "stored_value_cards",
    metadata,
    sa.Column("customer_id", sa.Uuid, sa.ForeignKey("customers.id"), primary_key=True),
    sa.Column("card_number", sa.String(32), nullable=False, unique=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("balance", sa.BigInteger, nullable=False),
    sa.Column("per_event_limit", sa.BigInteger),
    sa.Column("reset_after_event", sa.Boolean, nullable=False),
    sa.Column("per_season_limit", sa.BigInteger),
)

stored_value_ledger = sa.Table(
    "stored_value_ledger",
    metadata,
    sa.Column("op_id", sa.Uuid, nullable=False),
    _customer_fk(),
    sa.Column("delta", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("event_id", Id),
    sa.Column("season_id", Id),
    sa.Column("till_id", Id),
    sa.Column("at", When, nullable=False),
    sa.PrimaryKeyConstraint("op_id", "customer_id"),
    sa.Index("ix_stored_value_ledger_customer", "customer_id", "at"),
)

store_credit_ledger = sa.Table(
    "store_credit_ledger",
    metadata,
    sa.Column("op_id", sa.Uuid, nullable=False),
    _customer_fk(),
    sa.Column("delta", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("authorized_user_id", sa.Uuid),
    sa.Column("till_id", Id),
    sa.Column("at", When, nullable=False),
    sa.PrimaryKeyConstraint("op_id", "customer_id"),
)
"""Positive `delta` is a charge (debt grows), negative a payment."""

wallet_cards = sa.Table(
    "wallet_cards",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    _customer_fk(),
    sa.Column("brand", sa.String(20), nullable=False),
    sa.Column("last4", sa.String(4), nullable=False),
    sa.Column("exp_month", sa.Integer, nullable=False),
    sa.Column("exp_year", sa.Integer, nullable=False),
    sa.Column("token", sa.String(128), nullable=False),
    sa.Column("label", sa.String(60), nullable=False, server_default=""),
    sa.Column("created_at", When, nullable=False),
    sa.Index("ix_wallet_cards_customer", "customer_id"),
)
"""Processor tokens and what may be shown; the card number is never stored."""

suites = sa.Table(
    "suites",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    _customer_fk(),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("event_name", sa.String(120), nullable=False),
    sa.Column("starts_at", When, nullable=False),
    sa.Column("ends_at", When, nullable=False),
    sa.Index("ix_suites_customer", "customer_id"),
)

visits = sa.Table(
    "visits",
    metadata,
    sa.Column("op_id", sa.Uuid, primary_key=True),
    _customer_fk(),
    sa.Column("till_id", Id, nullable=False),
    sa.Column("store_id", Id, nullable=False),
    sa.Column("operator_id", Id),
    sa.Column("method", sa.String(16)),
    sa.Column("at", When, nullable=False),
    sa.Index("ix_visits_customer", "customer_id", "at"),
)

transactions = sa.Table(
    "transactions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("number", sa.String(32), nullable=False, unique=True),
    _customer_fk(),
    sa.Column("org_id", Id, nullable=False),
    sa.Column("brand_id", Id, nullable=False),
    sa.Column("store_id", Id, nullable=False),
    sa.Column("till_id", Id, nullable=False),
    sa.Column("operator_id", Id),
    sa.Column("at", When, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("lines", sa.JSON, nullable=False),
    sa.Column("tenders", sa.JSON, nullable=False),
    sa.Column("points_earned", sa.BigInteger, nullable=False),
    sa.Column("points_redeemed", sa.BigInteger, nullable=False),
    sa.Column("op_id", sa.Uuid, nullable=False, unique=True),
    sa.Index("ix_transactions_customer_at", "customer_id", "at"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", When, nullable=False),
    sa.Column("org_id", Id, nullable=False),
    sa.Column("till_id", Id),
    sa.Column("operator_id", Id),
    sa.Column("approver_id", Id),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("customer_id", sa.Uuid),
    sa.Column("op_id", sa.Uuid),
    sa.Column("change_request_id", sa.String(64)),
    sa.Column("origin_org_id", Id),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_audit_log_customer", "customer_id", "at"),
    sa.Index("ix_audit_log_till", "till_id", "at"),
)

applied_ops = sa.Table(
    "applied_ops",
    metadata,
    sa.Column("op_id", sa.Uuid, primary_key=True),
    sa.Column("till_id", Id, nullable=False),
    sa.Column("seq", sa.BigInteger),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("payload_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("applied_at", When, nullable=False),
    sa.UniqueConstraint("till_id", "seq"),
)
"""Every op the CRM has answered, with its answer: the idempotency record. `seq` is null for
writes made through the REST paths, which carry an op id but no outbox seq."""

override_approvals = sa.Table(
    "override_approvals",
    metadata,
    sa.Column("approval_id", sa.Uuid, primary_key=True),
    sa.Column("op_id", sa.Uuid),
    sa.Column("till_id", Id, nullable=False),
    sa.Column("used_at", When, nullable=False),
    sa.Column("supervisor_id", Id),
    sa.Column("cashier_id", Id),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("needs_review", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_override_approvals_review", "needs_review", "used_at"),
)
"""Every supervisor approval the CRM has accepted, by the id the till minted for it: one
approval lets one action through. `op_id` is null for a REST action (a card-number reveal).
`needs_review` marks an approval the CRM did not verify itself (given offline)."""

supervisor_verifications = sa.Table(
    "supervisor_verifications",
    metadata,
    sa.Column("verification_id", sa.Uuid, primary_key=True),
    sa.Column("till_id", Id, sa.ForeignKey("tills.id"), nullable=False),
    sa.Column("supervisor_id", Id, sa.ForeignKey("operators.id"), nullable=False),
    sa.Column("issued_at", When, nullable=False),
    sa.Column("expires_at", When, nullable=False),
    sa.Column("used_at", When),
    sa.Column("op_id", sa.Uuid),
)
"""The CRM checked a supervisor's PIN or badge for a till: one override of that till by that
supervisor may use it, once, before it expires."""
