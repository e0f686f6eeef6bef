"""`/v1/metrics`: a scraper sees the CRM's pushes, pulls and requests counted, by route
template and never by a customer's id, without a token."""

from __future__ import annotations

from uuid import uuid4

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.customers import put_customer
from tests.support.outbox import Outbox, sale
from tests.support.world import World
from tillcrm.api import OpType
from tillcrm.server.metrics import UNMATCHED

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(world: World) -> tuple[httpx.Response, Samples]:
    """`/v1/metrics` as a scraper reads it: no token; every sample by name and labels."""
    with world.crm.client() as http:
        response = http.get("/metrics")
    assert response.status_code == 200, response.text
    samples: Samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return response, samples


def grown(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much the sample `name` with exactly `labels` grew between two scrapes."""
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def requests(route: str, status: int, method: str = "GET") -> dict[str, str]:
    return {"method": method, "route": route, "status": str(status)}


def test_a_push_and_a_pull_show_in_the_counts(world: World) -> None:
    customer = put_customer(world, "pool", None, first_name="Counted")
    put_customer(world, "pool", None, first_name="Counted too")
    _, before = scrape(world)
    with Outbox(world, "pool.a") as till:
        applied = till.op(OpType.SALE, customer, sale(("cash", 900)))
        rejected = till.op(OpType.VISIT, uuid4(), {"method": "barcode"})
        assert [r["status"] for r in till.apply(applied, rejected)] == ["applied", "rejected"]
        assert [r["status"] for r in till.apply(applied)] == ["duplicate"]
        pages = 0
        cursor, more = "", True
        while more:
            page = till.http.get("/sync/pull", params={"cursor": cursor, "limit": 1}).json()
            cursor, more = page["cursor"], page["more"]
            pages += 1
    assert pages >= 2
    response, after = scrape(world)

    assert response.headers["content-type"].startswith("text/plain; version=")
    ops = "tillcrm_push_ops_total"
    assert grown(before, after, ops, result="applied") == 1
    assert grown(before, after, ops, result="rejected") == 1
    assert grown(before, after, ops, result="duplicate") == 1
    assert grown(before, after, ops, result="needs_review") == 0
    assert ("tillcrm_push_ops_total", frozenset({("result", "needs_review")})) in after
    assert grown(before, after, "tillcrm_pull_pages_total") == pages
    http_requests = "tillcrm_http_requests_total"
    assert grown(before, after, http_requests, **requests("/v1/sync/push", 200, "POST")) == 2
    assert grown(before, after, http_requests, **requests("/v1/sync/pull", 200)) == pages


def test_requests_count_by_route_template_and_status_never_by_path(world: World) -> None:
    stranger = uuid4()
    _, before = scrape(world)
    with world.client("pool.a") as http:
        assert http.get(f"/customers/{stranger}").status_code == 404
        assert http.get(f"/no/such/{stranger}").status_code == 404
    with world.crm.client() as http:
        assert http.get(f"/customers/{stranger}").status_code == 401
    response, after = scrape(world)

    http_requests = "tillcrm_http_requests_total"
    assert grown(before, after, http_requests, **requests("/v1/customers/{customer_id}", 404)) == 1
    assert grown(before, after, http_requests, **requests("/v1/customers/{customer_id}", 401)) == 1
    assert grown(before, after, http_requests, **requests(UNMATCHED, 404)) == 1
    assert grown(before, after, http_requests, **requests("/v1/metrics", 200)) == 1
    assert str(stranger) not in response.text


def test_a_made_up_method_counts_as_other_and_adds_no_series_of_its_own(world: World) -> None:
    """Anyone may call any method at the open endpoint: counted by name, made-up methods
    would grow the scrape without end."""
    _, before = scrape(world)
    with world.crm.client() as http:
        for made_up in ("FOO0", "FOO1"):
            assert http.request(made_up, "/health").status_code == 405
    response, after = scrape(world)
    assert (
        grown(before, after, "tillcrm_http_requests_total", **requests("/v1/health", 405, "other"))
        == 2
    )
    assert "FOO" not in response.text
