"""A till process working the scan path on its database, for `benchmarks/pull.py`'s memory
figure: it opens the database as the till does (`TillService`), identifies by card, searches
by phone, name and customer number, opens profiles, and prints its peak RSS as JSON.

    python benchmarks/_till_at_work.py TILL_DB CONTEXT_JSON CUSTOMERS
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tillcrm.api import TillContext
from tillcrm.config import Settings
from tillcrm.domain import IdentifierKind
from tillcrm.local import CustomerCache, open_database
from tillcrm.till import TillService

LOOKUPS = 300


def main() -> None:
    path, context = Path(sys.argv[1]), TillContext.model_validate_json(sys.argv[2])
    count = int(sys.argv[3])
    db = open_database(path)
    till = TillService(db, context, Settings(data_dir=path.parent), None)
    cache = CustomerCache(db)
    found = 0
    for k in range(0, count, max(1, count // LOOKUPS)):
        found += cache.by_identifier(IdentifierKind.BARCODE, f"LOY-{k:07d}") is not None
        found += len(cache.by_phone(f"+1415{k:07d}"))
        found += len(cache.search(f"Smithson{k % 97}", limit=20))
        for row in cache.search(f"C{k:07d}", limit=1):
            found += till.cached_profile(row.id) is not None
    print(json.dumps({"found": found, "cached": cache.count(), "peak_rss_mb": _peak_rss_mb()}))
    db.close()


def _peak_rss_mb() -> float:
    """This process's peak RSS (`VmHWM`). Not `ru_maxrss`: Linux carries that over from the
    parent through fork and exec, so it would report the benchmark's own peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    main()
