"""Operator login and logout through the facade: online (operators fetched from the CRM),
offline from the cached PIN hashes, and the lockout after too many wrong PINs."""

from __future__ import annotations

import pytest

from tests.support.till import Till
from tests.support.world import CASHIER_PIN, SUPERVISOR_BADGE
from tillcrm.domain import IdentifierKind, Role
from tillcrm.till import LoginRefusal, LoginRefused, NotLoggedIn


async def test_login_online_caches_the_operators_for_offline_login(till: Till) -> None:
    online = till.service()
    cashier = await online.login("brand-100", CASHIER_PIN)
    assert cashier.id == "brand-cashier"
    assert online.operator == cashier
    online.logout()
    assert online.operator is None

    offline = till.service(down=True)
    assert (await offline.login("brand-100", CASHIER_PIN)).id == "brand-cashier"
    assert not offline.online
    supervisor = await offline.login_badge(SUPERVISOR_BADGE)
    assert supervisor.role is Role.SUPERVISOR
    assert offline.operator == supervisor


async def test_five_wrong_pins_lock_the_operator_even_offline(till: Till) -> None:
    await till.service().refresh_operators()
    service = till.service(down=True)
    for left in (4, 3, 2, 1):
        with pytest.raises(LoginRefused) as refused:
            await service.login("brand-100", "0000")
        assert refused.value.reason is LoginRefusal.WRONG_PIN
        assert refused.value.attempts_left == left
    with pytest.raises(LoginRefused) as refused:
        await service.login("brand-100", "0000")
    assert refused.value.reason is LoginRefusal.LOCKED
    with pytest.raises(LoginRefused) as refused:
        await service.login("brand-100", CASHIER_PIN)
    assert refused.value.reason is LoginRefusal.LOCKED
    assert service.operator is None


async def test_nothing_happens_without_an_operator(till: Till) -> None:
    with pytest.raises(NotLoggedIn):
        await till.service().identify(IdentifierKind.BARCODE, "anything")
