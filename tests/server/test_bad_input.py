"""Bad input over HTTP: a 4xx whose body names the field at fault, and nothing changed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from tests.support.customers import put_customer
from tests.support.outbox import Outbox
from tests.support.world import World
from tillcrm.api import PAYLOADS, OpType
from tillcrm.server.app import ROUTERS, create_app
from tillcrm.server.request_limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, JsonLimitsRoute
from tillcrm.server.tables import metadata

MEGABYTE = "x" * 1_000_000
CASHIER = {"X-Operator-Id": "units-cashier"}
JSON = {"Content-Type": "application/json"}

Call = Callable[[httpx.Client, str], httpx.Response]
"""A request made as a till of `units`, given a customer id of that organization."""


def raw(path: str, text: str | bytes, method: str = "POST") -> Call:
    """A request whose JSON body is `text` as it is, `{c}` in `path` the customer's id."""
    return lambda http, c: http.request(
        method,
        path.format(c=c),
        content=text.encode() if isinstance(text, str) else text,
        headers={**CASHIER, **JSON},
    )


def nested(depth: int) -> str:
    """A new customer with an extra member nested `depth` arrays deep."""
    return '{"profile": {}, "extra": ' + "[" * depth + "]" * depth + "}"


CASES: dict[str, tuple[Call, str]] = {
    "malformed JSON": (raw("/customers", '{"profile": {"first_name": "Ann"'), ""),
    "JSON nested deeper than the limit": (raw("/customers", nested(MAX_JSON_DEPTH)), ""),
    "JSON nested too deep to decode": (raw("/customers", nested(100_000)), ""),
    "NaN": (raw("/customers", '{"profile": {}, "extra": NaN}'), ""),
    "a number of 5,000 digits": (raw("/customers", '{"profile": {}, "x": ' + "9" * 5000 + "}"), ""),
    "bytes that are not UTF-8": (raw("/customers", b'{"profile": {}, "x": "\xff"}'), ""),
    "wrong type in the profile": (
        lambda http, _c: http.post(
            "/customers", json={"profile": {"first_name": 5}}, headers=CASHIER
        ),
        "profile.first_name",
    ),
    "a profile that is not an object": (
        lambda http, _c: http.post("/customers", json={"profile": ["a"]}, headers=CASHIER),
        "profile",
    ),
    "1 MB name": (
        lambda http, _c: http.post(
            "/customers", json={"profile": {"last_name": MEGABYTE}}, headers=CASHIER
        ),
        "profile.last_name",
    ),
    "1 MB comment in a patch": (
        lambda http, c: http.patch(
            f"/customers/{c}",
            json={"base_version": "one", "changes": {"comments": MEGABYTE}},
            headers=CASHIER,
        ),
        "base_version",
    ),
    "1 MB card number": (
        lambda http, c: http.post(
            f"/customers/{c}/wallet",
            json={"card_number": MEGABYTE, "exp_month": 1, "exp_year": 2030},
            headers=CASHIER,
        ),
        "card_number",
    ),
    "a long search text": (
        lambda http, _c: http.get("/customers", params={"q": "y" * 5_000}),
        "q",
    ),
    "unknown identifier kind": (
        lambda http, _c: http.get("/identify", params={"kind": "laser", "value": "1"}),
        "kind",
    ),
    "unknown identifier kind in a new customer": (
        lambda http, _c: http.post(
            "/customers",
            json={"profile": {}, "identifiers": [{"kind": "laser", "value": "1"}]},
            headers=CASHIER,
        ),
        "identifiers.0.kind",
    ),
    "negative load": (
        lambda http, c: http.post(
            f"/customers/{c}/stored-value/load", json={"amount": -500}, headers=CASHIER
        ),
        "amount",
    ),
    "negative credit limit": (
        lambda http, _c: http.post(
            "/customers", json={"profile": {"store_credit_limit": -1}}, headers=CASHIER
        ),
        "profile.store_credit_limit",
    ),
    "month 13": (
        lambda http, c: http.post(
            f"/customers/{c}/wallet",
            json={"card_number": "4111111111111111", "exp_month": 13, "exp_year": 2030},
            headers=CASHIER,
        ),
        "exp_month",
    ),
    "negative page offset": (
        lambda http, c: http.get(f"/customers/{c}/history", params={"offset": -1}),
        "offset",
    ),
    "not a customer id": (
        lambda http, _c: http.get("/customers/not-a-uuid"),
        "customer_id",
    ),
    "a write without an operator": (
        lambda http, _c: http.post("/customers", json={"profile": {}}),
        "X-Operator-Id",
    ),
    "an idempotency key that is not a UUID": (
        lambda http, _c: http.post(
            "/customers", json={"profile": {}}, headers={**CASHIER, "Idempotency-Key": "k1"}
        ),
        "Idempotency-Key",
    ),
}


def sent(method: str, path: str, body: object) -> Call:
    """A request with `body` as JSON, non-ASCII escaped (so a lone surrogate can be sent)."""
    return raw(path, json.dumps(body), method)


def an_op(**fields: object) -> dict[str, object]:
    """A pushed op as JSON, `fields` changed."""
    return {
        "op_id": str(uuid4()),
        "seq": 1,
        "type": "visit",
        "entity_id": str(uuid4()),
        "payload": {},
        "local_ts": "2026-01-01T12:00:00+00:00",
        "operator_id": "units-cashier",
        **fields,
    }


def an_override(reason: object = "asked", amount: object = 0) -> dict[str, object]:
    """A supervisor's approval as JSON."""
    action = {"customer_id": str(uuid4()), "kind": "k", "amount": amount, "limits": []}
    return {
        "approval_id": str(uuid4()),
        "supervisor_id": "units-super",
        "cashier_id": "units-cashier",
        "reason": reason,
        "action": action,
    }


CARD = {"card_number": "4111111111111111", "exp_month": 1, "exp_year": 2030}

TEXT_FIELDS: dict[str, tuple[str, str, Callable[[str], object], str]] = {
    "a name": (
        "POST",
        "/customers",
        lambda v: {"profile": {"first_name": v}},
        "profile.first_name",
    ),
    "a comment": ("POST", "/customers", lambda v: {"profile": {"comments": v}}, "profile.comments"),
    "a custom field": (
        "POST",
        "/customers",
        lambda v: {"profile": {"custom_fields": {"colour": v}}},
        "profile.custom_fields.colour",
    ),
    "a custom field's name": (
        "POST",
        "/customers",
        lambda v: {"profile": {"custom_fields": {v: "red"}}},
        "profile.custom_fields",
    ),
    "a card": (
        "POST",
        "/customers",
        lambda v: {"profile": {}, "identifiers": [{"kind": "barcode", "value": v}]},
        "identifiers.0.value",
    ),
    "an authorized user": (
        "POST",
        "/customers/{c}/authorized-users",
        lambda v: {"first_name": v},
        "first_name",
    ),
    "a wallet label": ("POST", "/customers/{c}/wallet", lambda v: {**CARD, "label": v}, "label"),
    "a membership label": ("PATCH", "/customers/{c}/membership", lambda v: {"label": v}, "label"),
    "a card to register": (
        "POST",
        "/customers/register",
        lambda v: {"kind": "barcode", "value": v},
        "value",
    ),
    "an enrollment code": ("POST", "/tills/enroll", lambda v: {"code": f"ABCDEF{v}"}, "code"),
    "an override's reason": (
        "POST",
        "/customers/{c}/stored-value/reveal",
        lambda v: {"override": an_override(reason=v)},
        "override.reason",
    ),
}
"""Text fields of every kind of request, by where they are: (method, path, body, field)."""

BAD_TEXT = {"a NUL": "a\x00b", "a lone surrogate": "a\ud800b"}

INT_FIELDS: dict[str, tuple[str, str, Callable[[object], object], str]] = {
    "a credit limit": (
        "POST",
        "/customers",
        lambda v: {"profile": {"store_credit_limit": v}},
        "profile.store_credit_limit",
    ),
    "a load": ("POST", "/customers/{c}/stored-value/load", lambda v: {"amount": v}, "amount"),
    "a base version": (
        "PATCH",
        "/customers/{c}",
        lambda v: {"base_version": v, "changes": {}},
        "base_version",
    ),
    "a seq": ("POST", "/sync/push", lambda v: {"ops": [an_op(seq=v)]}, "ops.0.seq"),
    "an expiry month": (
        "POST",
        "/customers/{c}/wallet",
        lambda v: {**CARD, "exp_month": v},
        "exp_month",
    ),
    "an override's amount": (
        "POST",
        "/customers/{c}/stored-value/reveal",
        lambda v: {"override": an_override(amount=v)},
        "override.action.amount",
    ),
}
"""Integer fields of every kind of request (money, counts, versions, seqs)."""

BAD_INTS: dict[str, object] = {"2**63": 2**63, "-2**63 - 1": -(2**63) - 1, "true": True, '"1"': "1"}

CASES.update(
    {
        f"{kind} in {where}": (sent(method, path, body(value)), field)
        for where, (method, path, body, field) in TEXT_FIELDS.items()
        for kind, value in BAD_TEXT.items()
    }
    | {
        f"{kind} as {where}": (sent(method, path, body(value)), field)
        for where, (method, path, body, field) in INT_FIELDS.items()
        for kind, value in BAD_INTS.items()
    }
    | {
        "a NUL in a search": (lambda http, _c: http.get("/customers", params={"q": "a\x00"}), "q"),
        "a NUL in a card to identify": (
            lambda http, _c: http.get("/identify", params={"kind": "barcode", "value": "1\x00"}),
            "value",
        ),
        "a history from a time past 9999 in UTC": (
            lambda http, c: http.get(
                f"/customers/{c}/history", params={"from": "9999-12-31T23:59:59-12:00"}
            ),
            "from",
        ),
        "a history bound given as a number": (
            lambda http, c: http.get(f"/customers/{c}/history", params={"to": "0.5"}),
            "to",
        ),
        "a yes or no given as 1": (
            sent("POST", "/customers", {"profile": {}, "independent": 1}),
            "independent",
        ),
        "a customer's flag given as 0": (
            sent("POST", "/customers", {"profile": {"flags": {"marketing_sms": 0}}}),
            "profile.flags.marketing_sms",
        ),
        "a cursor past 64 bits": (
            lambda http, _c: http.get("/sync/pull", params={"cursor": "9" * 19}),
            "cursor",
        ),
        "a pull page over the limit": (
            lambda http, _c: http.get("/sync/pull", params={"limit": 5001}),
            "limit",
        ),
        "a search page over the limit": (
            lambda http, _c: http.get("/customers", params={"limit": 201}),
            "limit",
        ),
        "a ledger page over the limit": (
            lambda http, c: http.get(f"/customers/{c}/loyalty", params={"limit": 501}),
            "limit",
        ),
    }
)


def row_counts(world: World) -> dict[str, int]:
    """Rows per table of the CRM."""
    with world.crm.engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_4xx_naming_the_field_and_changes_nothing(world: World, case: str) -> None:
    customer = put_customer(world, "units", first_name="Victim")
    call, field = CASES[case]
    before = row_counts(world)
    with world.client("units.a") as http:
        response = call(http, str(customer))
    assert response.status_code == 422, response.text[:300]
    body = response.json()
    assert body["code"] == "invalid"
    if field:
        fields = [problem["field"] for problem in body["problems"]]
        assert any(named.startswith(field) for named in fields), body["problems"]
    else:
        assert "JSON" in body["detail"]
    assert len(response.content) < 20_000
    assert row_counts(world) == before


def peak_rss_reset() -> int:
    """This process's resident memory now (kB), its peak set back to it: the CRM under test
    serves from a thread of this process."""
    status = Path("/proc/self/status")
    if not status.exists():
        pytest.skip("needs Linux /proc to measure memory")
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kb(status, "VmRSS")


def peak_rss() -> int:
    """This process's peak resident memory (kB) since `peak_rss_reset`."""
    return _status_kb(Path("/proc/self/status"), "VmHWM")


def _status_kb(status: Path, key: str) -> int:
    line = next(line for line in status.read_text().splitlines() if line.startswith(key))
    return int(line.split()[1])


def test_a_chunked_body_over_the_limit_is_cut_off_early(world: World) -> None:
    """100 MB with no Content-Length: refused with 413 after about the limit, not read."""
    chunk = b"x" * 65_536
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        while sent < 100 * 1024 * 1024:
            sent += len(chunk)
            yield chunk

    before = peak_rss_reset()
    with world.client("units.a") as http:
        response = http.post(
            "/sync/push", content=body(), headers={"Content-Type": "application/json"}
        )
    grown_mb = (peak_rss() - before) / 1024
    print(f"chunked 100 MB: {sent / 2**20:.1f} MB sent, peak RSS +{grown_mb:.1f} MB")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert sent < 4 * MAX_BODY_BYTES
    assert grown_mb < 40


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(world: World) -> None:
    with world.client("units.a") as http:
        response = http.post(
            "/sync/push",
            content=b"x" * (MAX_BODY_BYTES + 1),
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_json_nested_up_to_the_limit_is_read(world: World) -> None:
    with world.client("units.a") as http:
        response = raw("/customers", nested(MAX_JSON_DEPTH - 1))(http, "")
    assert response.status_code == 201, response.text


BAD_PAYLOADS: dict[str, tuple[str, dict[str, object]]] = {
    "a NUL in a new customer's name": ("customer_create", {"profile": {"first_name": "a\x00"}}),
    "a lone surrogate in a custom field": (
        "customer_create",
        {"profile": {"custom_fields": {"colour": "\ud800"}}},
    ),
    "a NUL in a custom field's name": (
        "customer_create",
        {"profile": {"custom_fields": {"a\x00": "red"}}},
    ),
    "points as true": ("points_redeem", {"points": True, "reason": "bonus"}),
    "points as a string": ("points_redeem", {"points": "100", "reason": "bonus"}),
    "a price past 64 bits": (
        "sale",
        {
            "transaction_id": str(uuid4()),
            "lines": [{"description": "x", "unit_price": 2**63}],
            "tenders": [{"kind": "cash", "amount": 1}],
        },
    ),
    "a NUL in a change": ("customer_update", {"changes": {"comments": "a\x00"}}),
}


@pytest.mark.parametrize("case", list(BAD_PAYLOADS))
def test_a_bad_value_inside_an_op_rejects_that_op_and_the_push_goes_on(
    world: World, case: str
) -> None:
    """The envelope is fine, so the push is answered: the bad op is refused (stored, its seq
    advances) and the op after it applies, on either database."""
    op_type, payload = BAD_PAYLOADS[case]
    customer = put_customer(world, "units", first_name="Victim")
    with Outbox(world, "units.a") as outbox:
        bad = outbox.op(OpType(op_type), customer, payload, base_version=1)
        good = outbox.op(OpType.VISIT, customer, {})
        response = outbox.http.post(
            "/sync/push", content=json.dumps({"ops": [bad, good]}).encode(), headers=JSON
        )
        assert response.status_code == 200, response.text[:300]
        results = response.json()["results"]
        assert [r["status"] for r in results] == ["rejected", "applied"], results
        assert results[0]["reason"].startswith("invalid"), results[0]
        assert outbox.last_seq() == good["seq"]


BAD_OP_FIELDS: dict[str, tuple[dict[str, object], str]] = {
    **{
        f"{kind} in a pushed op's operator": ({"operator_id": value}, "operator_id")
        for kind, value in BAD_TEXT.items()
    },
    "a pushed op's time past 9999 in UTC": (
        {"local_ts": "9999-12-31T23:59:59-23:59"},
        "local_ts",
    ),
    "an override naming a limit twice": (
        {
            "override": {
                **an_override(),
                "action": {
                    "customer_id": str(uuid4()),
                    "kind": "k",
                    "amount": 0,
                    "limits": ["credit", "credit"],
                },
            }
        },
        "override.action.limits",
    ),
    "a pushed op's offline given as 0": ({"offline": 0}, "offline"),
}
"""Bad values in a pushed op's own fields (outside its payload), and the field named."""


@pytest.mark.parametrize("case", list(BAD_OP_FIELDS))
def test_a_bad_field_of_a_pushed_op_rejects_that_op_alone_naming_it(
    world: World, case: str
) -> None:
    """The batch's envelope (op ids and seqs) is fine, so the push is answered: the op with
    the bad field is rejected for its seq, naming the field, and the op after it applies."""
    fields, field = BAD_OP_FIELDS[case]
    customer = put_customer(world, "units", first_name="Victim")
    with Outbox(world, "units.a") as outbox:
        bad = {**outbox.op(OpType.VISIT, customer, {}), **fields}
        good = outbox.op(OpType.VISIT, customer, {})
        response = outbox.http.post(
            "/sync/push", content=json.dumps({"ops": [bad, good]}).encode(), headers=JSON
        )
        assert response.status_code == 200, response.text[:300]
        results = response.json()["results"]
        assert [r["status"] for r in results] == ["rejected", "applied"], results
        assert f"{field}: " in results[0]["reason"], results[0]
        assert "\x00" not in results[0]["reason"]
        assert outbox.last_seq() == good["seq"]


UNCHECKED = {
    "email": "EmailStr: email-validator refuses NUL, lone surrogates and over-long addresses",
    "card_number": "SecretStr: only its digits are read, and it is never stored",
}
"""Request fields whose text another validator bounds, and why."""


def unbounded(schema: object, path: str = "") -> Iterator[str]:
    """Where in a pydantic core schema a string has no NUL pattern or no maximum length, or an
    integer is not strict or has no bounds (`domain.bounds`)."""
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "str" and not ("pattern" in schema and "max_length" in schema):
            yield path
        if kind == "int" and not (schema.get("strict") and "ge" in schema and "le" in schema):
            yield path
        for key, value in schema.items():
            yield from unbounded(value, path if key in ("schema", "type") else f"{path}.{key}")
    elif isinstance(schema, list):
        for value in schema:
            yield from unbounded(value, path)


def request_models() -> set[type[BaseModel]]:
    """Every request body of the CRM's routes, and every op payload a push carries."""
    routes = [route for router in ROUTERS for route in router.routes]
    assert all(isinstance(route, JsonLimitsRoute) for route in routes)
    bodies = {route.body_field.field_info.annotation for route in routes if route.body_field}
    return bodies | set(PAYLOADS.values())


def test_every_text_and_integer_a_request_holds_is_bounded() -> None:
    """The rule of the cases above, for every field: a new one cannot forget it."""
    loose = {
        f"{model.__name__}{path}"
        for model in request_models()
        for path in unbounded(model.__pydantic_core_schema__)
        if path.rsplit(".fields.", 1)[-1].split(".")[0] not in UNCHECKED
    }
    assert not loose


def test_every_query_parameter_is_bounded(tmp_path: Path) -> None:
    """Query strings too: text has the NUL pattern and a length, numbers have bounds."""
    spec = create_app(f"sqlite:///{tmp_path / 'crm.sqlite3'}", migrate=False).openapi()
    loose = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                for schema in parameter["schema"].get("anyOf", [parameter["schema"]]):
                    kind = schema.get("type")
                    plain_text = kind == "string" and "format" not in schema
                    if plain_text and not {"pattern", "maxLength"} <= schema.keys():
                        loose.append(f"{method} {path} {parameter['name']}")
                    if kind == "integer" and not {"minimum", "maximum"} <= schema.keys():
                        loose.append(f"{method} {path} {parameter['name']}")
    assert not loose
