"""tillcrm: a customer-aware till for the terminal, and the reference CRM it syncs with."""

import os

__version__ = "0.1.0"
__all__ = ["FRAME_RATE", "__version__"]

FRAME_RATE = 120
"""Screen updates a second the till asks Textual for (its default is 60), unless `TEXTUAL_FPS`
says otherwise.

Textual paints a changed screen on its next frame tick, and a scan that opens the profile from
the identify screen waits for a few of them (layout, paint, the paint after it): at 60 a second
that wait alone took the scan to the profile past its 50 ms target (1,000,000 cached customers,
p95 66 ms; 40 ms at 120, `benchmarks/scan_to_profile.py`). The cost is a little CPU only while
the screen changes. Textual reads the variable once, when it is first imported, so it is set
here, before any part of the till imports Textual.
"""

os.environ.setdefault("TEXTUAL_FPS", str(FRAME_RATE))
