"""The organization report: visits, sales, points and stored value, per unit and in total.

The seeds' organization units report at two levels: one report per unit and one consolidated
for the conglomerate. A unit is a brand of the organization (for a standard organization the
same report gives one row per brand). Each figure is summed where it is recorded, by the
store or till it happened at: visits by store, sales by brand, points and stored value by till.
"""

from __future__ import annotations

import csv
import io
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from tillcrm.domain.money_format import MoneyFormat
from tillcrm.server.tables import (
    brands,
    organizations,
    points_ledger,
    stored_value_ledger,
    stores,
    tills,
    transactions,
    visits,
)

__all__ = ["OrgReport", "UnitFigures", "org_report"]


@dataclass(frozen=True)
class UnitFigures:
    """One unit's figures (or the total's); money in minor units."""

    unit_id: str
    unit: str
    visits: int = 0
    sales: int = 0
    sales_total: int = 0
    points_issued: int = 0
    points_redeemed: int = 0
    stored_value_used: int = 0

    def __add__(self, other: UnitFigures) -> UnitFigures:
        return UnitFigures(
            self.unit_id,
            self.unit,
            *(a + b for a, b in zip(astuple(self)[2:], astuple(other)[2:], strict=True)),
        )


@dataclass(frozen=True)
class OrgReport:
    """Per-unit figures and their total for one organization."""

    org_id: str
    org_name: str
    currency: str
    units: list[UnitFigures]

    @property
    def total(self) -> UnitFigures:
        """The consolidated figures of every unit."""
        total = UnitFigures("", "Total")
        for unit in self.units:
            total = total + unit
        return total

    def csv(self) -> str:
        """The report as CSV: one row per unit, then the total; money in minor units."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([f.name for f in fields(UnitFigures)])
        for row in [*self.units, self.total]:
            writer.writerow(astuple(row))
        return out.getvalue()

    def table(self, locale: str = "en_US") -> str:
        """The report as an aligned text table, money as `locale` writes the currency (Babel,
        from the integer minor units: never through a float)."""
        money = MoneyFormat(locale, self.currency)
        header = ["unit", "visits", "sales", "sales total", "points issued", "points redeemed"]
        header.append("stored value used")
        lines = [header]
        for row in [*self.units, self.total]:
            lines.append(
                [
                    row.unit,
                    str(row.visits),
                    str(row.sales),
                    money.format(row.sales_total),
                    str(row.points_issued),
                    str(row.points_redeemed),
                    money.format(row.stored_value_used),
                ]
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        rendered = [
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
            for line in lines
        ]
        title = f"{self.org_name} ({self.org_id}), amounts in {self.currency}"
        rule = "-" * len(rendered[0])
        return "\n".join([title, rendered[0], *rendered[1:-1], rule, rendered[-1]])


def _by_till_brand(ledger: sa.Table, sign: int, unit_ids: list[str]) -> Select[Any]:
    """Per brand: the sum of a ledger's entries of one sign (1 credits, -1 debits), by the
    brand of the till that made them, as a positive number. Points moved by a sale are left
    out: its one ledger entry nets what it earned and spent, which the sale records apart."""
    delta = ledger.c.delta
    picked = sa.case((delta * sign > 0, delta * sign), else_=0)
    return (
        sa.select(stores.c.brand_id, sa.func.coalesce(sa.func.sum(picked), 0))
        .select_from(ledger)
        .join(tills, tills.c.id == ledger.c.till_id)
        .join(stores, stores.c.id == tills.c.store_id)
        .where(
            stores.c.brand_id.in_(unit_ids),
            ~sa.exists().where(transactions.c.op_id == ledger.c.op_id)
            if ledger is points_ledger
            else sa.true(),
        )
        .group_by(stores.c.brand_id)
    )


def _summed(sales: Select[Any], column: sa.Column[int]) -> Select[Any]:
    """Per brand: the sum of a `transactions` column over the `sales` query's rows."""
    return sales.add_columns(sa.func.sum(column)).group_by(transactions.c.brand_id)


def org_report(
    conn: Connection,
    org_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> OrgReport:
    """The report of organization `org_id`, optionally for entries in [since, until).

    Raises `LookupError` naming the known organizations when there is no such one.
    """
    org = conn.execute(sa.select(organizations).where(organizations.c.id == org_id)).first()
    if org is None:
        known = conn.execute(sa.select(organizations.c.id).order_by(organizations.c.id))
        raise LookupError(f"no organization {org_id!r}; known: {', '.join(known.scalars())}")
    units = conn.execute(
        sa.select(brands.c.id, brands.c.name).where(brands.c.org_id == org_id).order_by("id")
    ).all()
    unit_ids = [unit.id for unit in units]

    def dated(query: Select[Any], at: sa.Column[datetime]) -> dict[str, int]:
        if since is not None:
            query = query.where(at >= since)
        if until is not None:
            query = query.where(at < until)
        return {str(row[0]): int(row[1] or 0) for row in conn.execute(query)}

    visit_counts = dated(
        sa.select(stores.c.brand_id, sa.func.count())
        .select_from(visits)
        .join(stores, stores.c.id == visits.c.store_id)
        .where(stores.c.brand_id.in_(unit_ids))
        .group_by(stores.c.brand_id),
        visits.c.at,
    )
    sales_query = sa.select(transactions.c.brand_id).where(transactions.c.brand_id.in_(unit_ids))
    sale_counts = dated(
        sales_query.add_columns(sa.func.count()).group_by(transactions.c.brand_id),
        transactions.c.at,
    )
    sale_totals, sale_earned, sale_spent = (
        dated(_summed(sales_query, column), transactions.c.at)
        for column in (
            transactions.c.total,
            transactions.c.points_earned,
            transactions.c.points_redeemed,
        )
    )
    issued = dated(_by_till_brand(points_ledger, 1, unit_ids), points_ledger.c.at)
    redeemed = dated(_by_till_brand(points_ledger, -1, unit_ids), points_ledger.c.at)
    used = dated(_by_till_brand(stored_value_ledger, -1, unit_ids), stored_value_ledger.c.at)
    return OrgReport(
        org_id=org.id,
        org_name=org.name,
        currency=org.currency,
        units=[
            UnitFigures(
                unit_id=unit.id,
                unit=unit.name,
                visits=visit_counts.get(unit.id, 0),
                sales=sale_counts.get(unit.id, 0),
                sales_total=sale_totals.get(unit.id, 0),
                points_issued=sale_earned.get(unit.id, 0) + issued.get(unit.id, 0),
                points_redeemed=sale_spent.get(unit.id, 0) + redeemed.get(unit.id, 0),
                stored_value_used=used.get(unit.id, 0),
            )
            for unit in units
        ],
    )
