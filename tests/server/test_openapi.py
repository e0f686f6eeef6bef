"""The OpenAPI document tells the truth: its bearer scheme, each operation's errors with the
CRM's real `ErrorBody`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.support.customers import put_customer
from tests.support.outbox import put_card
from tests.support.world import World

UNAUTHENTICATED = {("get", "/v1/health"), ("post", "/v1/tills/enroll")}
"""The operations a caller without a till token may use."""

ERROR_BODIES = {"#/components/schemas/ErrorBody", "#/components/schemas/VersionConflict"}


def spec_of(world: World) -> dict[str, Any]:
    with httpx.Client(base_url=world.crm.url) as http:
        response = http.get("/v1/openapi.json")
    response.raise_for_status()
    spec: dict[str, Any] = response.json()
    return spec


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def test_the_spec_declares_the_till_token_on_every_authenticated_operation(world: World) -> None:
    spec = spec_of(world)
    schemes = spec["components"]["securitySchemes"]
    assert [scheme["scheme"] for scheme in schemes.values()] == ["bearer"]
    for method, path, operation in operations(spec):
        if (method, path) in UNAUTHENTICATED:
            assert "security" not in operation, (method, path)
            continue
        assert operation["security"] == [{name: []} for name in schemes], (method, path)
        assert "401" in operation["responses"], (method, path)
        # The token is the scheme's, not a header parameter of each operation.
        names = {parameter["name"].lower() for parameter in operation.get("parameters", [])}
        assert "authorization" not in names, (method, path)


def test_every_error_the_spec_declares_is_an_error_body(world: World) -> None:
    spec = spec_of(world)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema.get("$ref") in ERROR_BODIES, (method, path, status)
            if status == "401":
                assert response["headers"]["WWW-Authenticate"]["required"] is True
    error_body = spec["components"]["schemas"]["ErrorBody"]
    assert set(error_body["properties"]) == {"detail", "code", "problems"}
    conflict = spec["components"]["schemas"]["VersionConflict"]
    assert conflict["properties"]["current"] == {"$ref": "#/components/schemas/CustomerOut"}


def test_a_header_parameter_is_documented_as_the_string_it_is_sent_as(world: World) -> None:
    """An optional header is absent or a string, never JSON null: documented as "a UUID or
    null", the `Idempotency-Key` made a client send "null" (and get 422)."""
    for method, path, operation in operations(spec_of(world)):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "header":
                assert parameter["schema"]["type"] == "string", (method, path, parameter)


def test_the_times_of_the_current_event_say_their_zone_on_every_database(world: World) -> None:
    """`date-time` needs an offset: SQLite hands stored times back naive."""
    customer = put_customer(world, "pool", first_name="Evented")
    put_card(world, customer, 1_000)
    with world.client("pool.a") as http:
        event = http.get(f"/customers/{customer}/stored-value").json()["current_event"]
    for moment in (event["starts_at"], event["ends_at"]):
        assert datetime.fromisoformat(moment).utcoffset() == timedelta(0), moment


def test_a_405_allows_every_method_of_the_path(world: World) -> None:
    """A path served by one route per method (GET and PATCH of a customer) lists them all."""
    with world.client("pool.a") as http:
        response = http.delete(f"/customers/{put_customer(world, 'pool')}")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert {method.strip() for method in response.headers["Allow"].split(",")} >= {
        "GET",
        "PATCH",
    }
