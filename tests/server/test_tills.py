"""Health, enrollment and till authentication against the real CRM."""

from __future__ import annotations

import sqlalchemy as sa

from tests.support.crm_server import RunningCrm
from tests.support.world import World
from tillcrm.api import BODY_LIMIT_HEADER
from tillcrm.server import admin
from tillcrm.server.db import writing
from tillcrm.server.request_limits import MAX_BODY_BYTES
from tillcrm.server.tables import enrollment_codes, tills


def test_health_answers_without_a_token(crm: RunningCrm) -> None:
    with crm.client() as http:
        body = http.get("/health").json()
    assert body["status"] == "ok"
    assert "time" in body


def test_openapi_is_published_under_v1(crm: RunningCrm) -> None:
    with crm.client() as http:
        spec = http.get("/openapi.json").json()
    assert "/v1/tills/enroll" in spec["paths"]


def test_a_code_enrolls_one_till_once_and_is_stored_hashed(world: World) -> None:
    with writing(world.crm.engine) as conn:
        code = admin.issue_enrollment_code(conn, "brand-a-store")
    with world.crm.client() as http:
        first = http.post("/tills/enroll", json={"code": code, "name": "Bar 2"})
        again = http.post("/tills/enroll", json={"code": code, "name": "Bar 3"})
    assert first.status_code == 201
    context = first.json()["context"]
    assert context["brand"]["id"] == "brand-a"
    assert context["organization"]["customer_scope"] == "brand"
    assert again.status_code == 401
    assert again.json()["code"] == "bad_code"
    token = first.json()["token"]
    with world.crm.engine.connect() as conn:
        stored = [*conn.execute(sa.select(enrollment_codes.c.code_hash)).scalars()]
        hashes = [*conn.execute(sa.select(tills.c.token_hash)).scalars()]
    assert code not in stored
    assert token not in hashes


def test_unknown_or_missing_token_is_401(crm: RunningCrm) -> None:
    with crm.client("not-a-token") as http:
        assert http.get("/tills/me").status_code == 401
    with crm.client() as http:
        response = http.get("/operators")
    assert response.status_code == 401
    assert "not authorized" in response.json()["detail"]


def test_operators_come_with_pin_hashes_of_the_tills_org_only(world: World) -> None:
    with world.client("pool.a") as http:
        operators = http.get("/operators").json()
    assert {op["id"] for op in operators} == {"pool-cashier", "pool-super"}
    assert all(op["pin_hash"].startswith("scrypt-lanes$") for op in operators)


def test_a_child_till_also_gets_the_parent_operators(world: World) -> None:
    with world.client("child1.a") as http:
        ids = {op["id"] for op in http.get("/operators").json()}
    assert ids == {"child1-cashier", "child1-super", "parent-cashier", "parent-super"}


def test_oversized_body_is_refused_before_it_is_read(crm: RunningCrm) -> None:
    with crm.client() as http:
        response = http.post("/tills/enroll", content=b"x" * (5 * 1024 * 1024))
    assert response.status_code == 413
    assert response.headers[BODY_LIMIT_HEADER] == str(MAX_BODY_BYTES)


def test_the_crm_says_its_body_limit_in_tills_me_and_every_answer(world: World) -> None:
    with world.client("brand.a") as http:
        me, health = http.get("/tills/me"), http.get("/health")
    assert me.json()["max_body_bytes"] == MAX_BODY_BYTES
    assert me.headers[BODY_LIMIT_HEADER] == health.headers[BODY_LIMIT_HEADER] == str(MAX_BODY_BYTES)
