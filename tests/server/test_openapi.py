"""The OpenAPI document tells the truth: its bearer scheme, each operation's errors with the
CRM's real `ErrorBody`, and a schema-driven fuzzer (schemathesis) that finds no server error
and no answer the document does not describe, on each database."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.customers import put_customer
from tests.support.outbox import put_card
from tests.support.world import World
from tillcrm.server.context import ADMIN_TOKEN_ENV

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


def test_the_spec_declares_a_bearer_token_on_every_authenticated_operation(world: World) -> None:
    spec = spec_of(world)
    schemes = spec["components"]["securitySchemes"]
    assert {scheme["type"] + " " + scheme["scheme"] for scheme in schemes.values()} == {
        "http bearer"
    }
    for method, path, operation in operations(spec):
        if (method, path) in UNAUTHENTICATED:
            assert "security" not in operation, (method, path)
            continue
        assert operation.get("security"), (method, path)
        assert all(set(need) <= set(schemes) for need in operation["security"]), (method, path)
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


def test_a_pushed_op_is_documented_whole_though_only_its_header_is_required(
    world: World,
) -> None:
    """The CRM rejects an op it cannot read alone (its seq advances), so the push body may
    require only each op's id and seq; the op it applies is published beside, under `x-op`."""
    spec = spec_of(world)
    body = spec["paths"]["/v1/sync/push"]["post"]["requestBody"]["content"]["application/json"]
    batch = spec["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]
    header = spec["components"]["schemas"][
        batch["properties"]["ops"]["items"]["$ref"].rsplit("/", 1)[1]
    ]
    assert header["required"] == ["op_id", "seq"]
    whole = header["x-op"]
    assert {"type", "entity_id", "payload", "operator_id", "override", "withheld"} <= set(
        whole["properties"]
    )
    assert {"op_id", "type", "entity_id", "operator_id"} <= set(whole["required"])


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


def test_a_request_without_a_token_is_401_with_the_challenge_even_at_the_admin_api(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials is 401 everywhere, the admin API too while it is off (it was 403 there,
    which the document's 401 for a missing token did not say)."""
    monkeypatch.delenv(ADMIN_TOKEN_ENV, raising=False)
    with world.crm.client() as http:
        answers = [http.get("/tills/me"), http.post("/admin/tills/any/revoke")]
    for response in answers:
        assert response.status_code == 401, response.text
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["code"] == "unauthorized"


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


FUZZ_CONFIG = """
[generation]
database = "none"

[checks]
# Every check; the operations below narrow one or two where the CRM's answer is right.
enabled = true

[[operations]]
# A write is applied as an op, and an op's business rules refuse some well-formed requests
# with 422 `rejected` or `invalid` (an idempotency key used for another write, a card number
# that fails its check digit, no stored-value card, a register at a till of no child org...).
include-method-regex = "^(POST|PATCH|DELETE)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
# A well-formed phone number the phone library does not recognize is refused with 422.
include-path = "/v1/identify"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "404", "410", "422"]

[[operations]]
# `PATCH /v1/customers/register` is `PATCH /v1/customers/{customer_id}` with an id that is not
# a UUID: 422 naming `customer_id`, not the 405 of a method the path does not serve, and
# a 405 there allows GET and PATCH too.
include-path = "/v1/customers/register"
checks.unsupported_method.enabled = false
checks.allow_header_conformance.enabled = false

[parameters]
# Operations on one customer exercise a real one (with a stored-value card), not only 404s.
customer_id = "{customer_id}"
"""

FUZZ_EXAMPLES = 10
"""Test cases per operation and phase: 35-55 s a database for the 29 operations on 2 cores
(most of it the coverage phase's boundary cases, which do not depend on this number)."""

FUZZ_TIMEOUT = 300
"""The run's limit: a machine busy with other work takes several times as long."""


@pytest.mark.timeout(FUZZ_TIMEOUT + 30)
def test_the_fuzzer_finds_no_server_error_and_nothing_the_spec_does_not_say(
    world: World, tmp_path: Path
) -> None:
    """schemathesis, stateless (examples, coverage and fuzzing phases), every check, as a till
    of the `pool` organization so authenticated routes are exercised past their 401."""
    customer = put_customer(world, "pool", first_name="Fuzz")
    put_card(world, customer, 5_000)
    config = tmp_path / "schemathesis.toml"
    config.write_text(FUZZ_CONFIG.replace("{customer_id}", str(customer)))
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{world.crm.url}/v1/openapi.json",
        "--phases=examples,coverage,fuzzing",
        f"--max-examples={FUZZ_EXAMPLES}",
        "--seed=14",
        "--workers=1",
        "--no-color",
        "--header",
        f"Authorization: Bearer {world.tokens['pool.a']}",
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=FUZZ_TIMEOUT, check=False, cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
