"""The till's CRM client against the real reference CRM on loopback, and the fault shapes a
real server cannot produce (timeouts, 429 with Retry-After, a garbage body) through
`httpx.MockTransport`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support.crm_server import RunningCrm, free_port
from tests.support.customers import put_customer
from tests.support.memory_keyring import no_keyring
from tests.support.world import SUPERVISOR_PIN, World
from tillcrm.api import CustomerOut
from tillcrm.crm import (
    CrmClient,
    CrmError,
    CrmNotFound,
    CrmRejected,
    CrmUnauthorized,
    CrmUnavailable,
    NoTokenError,
    load_token,
)
from tillcrm.domain import IdentifierKind, verify_pin


async def test_health_and_enroll_need_no_token(loopback_crm: RunningCrm) -> None:
    async with CrmClient(loopback_crm.url) as client:
        health = await client.health()
        assert health.status == "ok"
        assert abs(health.time - datetime.now(UTC)) < timedelta(seconds=5)
        with pytest.raises(CrmUnauthorized, match="enrollment code is unknown"):
            await client.enroll("not-a-code", "Till 9")


async def test_a_till_reads_its_context_and_operators(
    loopback_crm: RunningCrm, loopback_world: World
) -> None:
    async with CrmClient(loopback_crm.url, token=loopback_world.tokens["brand.a"]) as client:
        context = await client.me()
        operators = await client.operators()
    assert context.brand.id == "brand-a"
    supervisor = next(op for op in operators if op.id == "brand-super")
    assert verify_pin(SUPERVISOR_PIN, supervisor.pin_hash)


async def test_a_wrong_token_is_unauthorized(loopback_crm: RunningCrm) -> None:
    async with CrmClient(loopback_crm.url, token="forged") as client:
        with pytest.raises(CrmUnauthorized, match="till not authorized"):
            await client.me()


async def test_a_customer_out_of_reach_is_not_found(
    loopback_crm: RunningCrm, loopback_world: World
) -> None:
    async with CrmClient(loopback_crm.url, token=loopback_world.tokens["brand.a"]) as client:
        with pytest.raises(CrmNotFound):
            await client.identify(IdentifierKind.BARCODE, "NO-SUCH-CARD")


async def test_a_crm_nobody_listens_on_is_unavailable() -> None:
    async with CrmClient(f"http://127.0.0.1:{free_port()}", connect_timeout=1) as client:
        with pytest.raises(CrmUnavailable, match="cannot reach the CRM"):
            await client.health()


def _answering(response: httpx.Response) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: response)


def _http_date_in(seconds: int) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize(
    ("retry_after", "floor"),
    [(lambda: "7", 7.0), (lambda: _http_date_in(60), 55.0)],
    ids=["seconds", "http-date"],
)
async def test_429_is_unavailable_with_the_retry_after_floor(
    retry_after: Callable[[], str], floor: float
) -> None:
    # The HTTP date is made when the test runs, not at collection: the suite may take minutes.
    busy = httpx.Response(429, headers={"Retry-After": retry_after()}, json={})
    async with CrmClient("http://crm.invalid", transport=_answering(busy)) as client:
        with pytest.raises(CrmUnavailable) as caught:
            await client.health()
    assert caught.value.retry_after is not None
    assert floor <= caught.value.retry_after <= 61


async def test_a_refusal_names_the_fields_at_fault() -> None:
    invalid = httpx.Response(
        422,
        json={
            "detail": "limit: must be at least 1",
            "code": "invalid",
            "problems": [{"field": "limit", "message": "must be at least 1"}],
        },
    )
    async with CrmClient("http://crm.invalid", transport=_answering(invalid)) as client:
        with pytest.raises(CrmRejected, match="limit") as refused:
            await client.search("smith", limit=0)
    assert refused.value.fields == ["limit"]
    assert refused.value.code == "invalid"


async def test_a_timeout_is_unavailable() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with CrmClient("http://crm.invalid", transport=httpx.MockTransport(hang)) as client:
        with pytest.raises(CrmUnavailable, match="did not answer in time"):
            await client.customer(uuid4())


async def test_an_unexpected_body_is_a_crm_error_not_a_crash() -> None:
    garbage = httpx.Response(200, text="<html>captive portal</html>")
    async with CrmClient("http://crm.invalid", transport=_answering(garbage)) as client:
        with pytest.raises(CrmError, match="unexpected body"):
            await client.health()
        with pytest.raises(CrmError, match="unexpected body"):
            await client.pull(None, limit=10)
    no_cursor = httpx.Response(200, json={"customers": [], "more": False})
    async with CrmClient("http://crm.invalid", transport=_answering(no_cursor)) as client:
        with pytest.raises(CrmError, match="unexpected body"):
            await client.pull(None, limit=10)


def test_the_token_comes_from_the_environment_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILLCRM_TOKEN", "from-env")
    assert load_token("till-1") == "from-env"


def test_without_a_keyring_backend_the_message_names_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TILLCRM_TOKEN", raising=False)
    with no_keyring(), pytest.raises(NoTokenError, match="TILLCRM_TOKEN"):
        load_token("till-1")


async def test_pull_hands_back_each_customer_as_the_crm_sent_it(
    loopback_crm: RunningCrm, loopback_world: World
) -> None:
    customer_id = put_customer(loopback_world, "brand", "a", first_name="Pia", last_name="Page")
    token = loopback_world.tokens["brand.a"]
    pulled: list[dict[str, Any]] = []
    cursor: str | None = None
    async with CrmClient(loopback_crm.url, token=token) as client:
        while True:
            page = await client.pull(cursor, limit=50)
            pulled += json.loads(page.body)["customers"]
            cursor = page.cursor
            if not page.more:
                break
        direct = await client.customer(customer_id)
    [sent] = [c for c in pulled if c["id"] == str(customer_id)]
    # Balances carry the time the CRM read them, which differs between the two calls.
    assert CustomerOut.model_validate(sent).model_dump(exclude={"balances"}) == direct.model_dump(
        exclude={"balances"}
    )
    assert {c["brand_id"] for c in pulled} == {"brand-a"}
