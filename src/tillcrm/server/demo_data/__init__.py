"""Deterministic demo data for the reference CRM (`tillcrm crm demo-data`).

A package of three rooms: the fixed catalog (organizations, stores, operators, the well-known
customers, word lists), the row generator that makes customer after customer from a seed, and
the bulk loader that writes them. Callers import from here; the modules are its inside.
"""

from tillcrm.server.demo_data.catalog import (
    CASHIER_CODE,
    CASHIER_PIN,
    DEMO_BARCODE,
    DEMO_BLOCKED_BARCODE,
    DEMO_CUSTOMERS,
    DEMO_EVENT_ID,
    DEMO_MAGSTRIPE,
    DEMO_MAGSTRIPE_TRACK2,
    DEMO_ORGS,
    DEMO_PHONE,
    DEMO_RFID,
    DEMO_STORE_BY_ID,
    DEMO_STORE_ID,
    DEMO_STORES,
    SUPERVISOR_BADGE,
    SUPERVISOR_CODE,
    SUPERVISOR_PIN,
    DemoCustomer,
    DemoOrg,
    DemoStore,
)
from tillcrm.server.demo_data.generator import MAX_DEMO_CUSTOMERS
from tillcrm.server.demo_data.loader import (
    CHUNK,
    DemoAlreadyLoadedError,
    DemoSummary,
    load_demo_data,
)

__all__ = [
    "CASHIER_CODE",
    "CASHIER_PIN",
    "CHUNK",
    "DEMO_BARCODE",
    "DEMO_BLOCKED_BARCODE",
    "DEMO_CUSTOMERS",
    "DEMO_EVENT_ID",
    "DEMO_MAGSTRIPE",
    "DEMO_MAGSTRIPE_TRACK2",
    "DEMO_ORGS",
    "DEMO_PHONE",
    "DEMO_RFID",
    "DEMO_STORES",
    "DEMO_STORE_BY_ID",
    "DEMO_STORE_ID",
    "MAX_DEMO_CUSTOMERS",
    "SUPERVISOR_BADGE",
    "SUPERVISOR_CODE",
    "SUPERVISOR_PIN",
    "DemoAlreadyLoadedError",
    "DemoCustomer",
    "DemoOrg",
    "DemoStore",
    "DemoSummary",
    "load_demo_data",
]
