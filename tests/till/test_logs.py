"""The till's log file as support would read it after a shift: a login with a PIN, a payment
card and a loyalty card swiped on a reader (a real pseudo-terminal), a sale pushed to the CRM
on loopback. Every one of them is in the file; the PIN, the card number, its tracks and the
till's token are not, not even when a line tries to carry them."""

from __future__ import annotations

import logging
from pathlib import Path

from tests.support.devices import EventLog, reading
from tests.support.till import Till, customer_with_points
from tests.support.world import CASHIER_PIN, World
from tillcrm.config import LogSettings
from tillcrm.devices.events import Identified, Rejected
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.logs import LOG_FILE_NAME, start_till_logging

PAN = "4111111111111111"
TRACK1 = f"B{PAN}^DOE/JOHN^2512101000000000000"
TRACK2 = f"{PAN}=25121010000000000000"
LOYALTY_TRACK2 = "6280001234567=4912"


async def test_the_log_has_the_shift_and_none_of_its_secrets(
    till: Till, loopback_world: World, till_log_dir: Path
) -> None:
    path = start_till_logging(LogSettings(dir=till_log_dir))
    assert path == till_log_dir / LOG_FILE_NAME

    events = EventLog()
    with SimulatedReader.open("magstripe", name="msr") as msr, reading(events, msr.settings()):
        msr.swipe(track1=TRACK1, track2=TRACK2)
        assert isinstance(events.next_read(), Rejected)
        msr.swipe(track2=LOYALTY_TRACK2)
        assert isinstance(events.next_read(), Identified)
    await customer_with_points(till, loopback_world)  # logs in with the PIN, pushes a sale
    # A slip of the kind the safety net is for: secrets formatted into a line.
    logging.getLogger("tillcrm.till").error(
        "support dump: pin=%s card %s track %s header Authorization: Bearer %s",
        CASHIER_PIN,
        PAN,
        TRACK1,
        till.token,
    )

    text = path.read_text()
    assert "msr rejected a read: payment_card" in text
    assert "device msr: swipe of a magstripe identifier" in text
    assert "operator brand-cashier logged in by code" in text
    assert "push of 1 op(s) (seq 1..1): 1 applied" in text
    assert "support dump: pin=[redacted]" in text
    for secret in (PAN, TRACK1, TRACK2, LOYALTY_TRACK2, CASHIER_PIN, till.token):
        assert secret not in text


async def test_the_log_rotates_at_its_size(till_log_dir: Path) -> None:
    path = start_till_logging(LogSettings(dir=till_log_dir, max_bytes=10_000, backups=2))
    assert start_till_logging(LogSettings(dir=till_log_dir)) == path  # one handler, kept
    log = logging.getLogger("tillcrm.test")
    for n in range(500):
        log.info("line %d of a long shift %s", n, "." * 60)
    assert sorted(p.name for p in till_log_dir.iterdir()) == [
        LOG_FILE_NAME,
        f"{LOG_FILE_NAME}.1",
        f"{LOG_FILE_NAME}.2",
    ]
    assert "line 499 of a long shift" in path.read_text()
