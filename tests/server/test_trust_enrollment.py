"""Enrollment and till tokens as an attacker would try them: one code enrolls one till however
many requests race with it, codes are compared as issued, a till's token can be revoked at
once (by the admin API or `tillcrm crm revoke-till`), and every 401 says how to authenticate."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.support.crm_server import RunningCrm
from tests.support.world import World
from tillcrm.cli import main
from tillcrm.server import admin
from tillcrm.server.context import ADMIN_TOKEN_ENV
from tillcrm.server.db import reading, writing
from tillcrm.server.tables import tills

STORE = "brand-a-store"
ADMIN_TOKEN = "admin-" + "x" * 40
RACERS = 8


def _code(world: World, *, now: datetime | None = None) -> str:
    with writing(world.crm.engine) as conn:
        return admin.issue_enrollment_code(conn, STORE, now=now)


def _enroll(crm: RunningCrm, code: str, name: str = "Bar") -> httpx.Response:
    with crm.client() as http:
        return http.post("/tills/enroll", json={"code": code, "name": name})


def _tills_named(crm: RunningCrm, prefix: str) -> int:
    with reading(crm.engine) as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(tills.c.name.startswith(prefix))
            ).scalar_one()
        )


def _challenged(response: httpx.Response) -> bool:
    """A 401 that names the bearer scheme, with the project's error body."""
    return (
        response.status_code == 401
        and response.headers.get("www-authenticate") == "Bearer"
        and {"detail", "code", "problems"} <= set(response.json())
    )


def test_eight_requests_racing_with_one_code_enroll_one_till(world: World) -> None:
    code = _code(world)
    prefix = f"race-{uuid4().hex[:8]}"
    start = threading.Barrier(RACERS)
    answers: list[httpx.Response] = []

    def enroll(n: int) -> None:
        with world.crm.client() as http:
            start.wait()
            answers.append(http.post("/tills/enroll", json={"code": code, "name": f"{prefix}{n}"}))

    racers = [threading.Thread(target=enroll, args=(n,)) for n in range(RACERS)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [401] * (RACERS - 1), [a.text for a in answers]
    assert all(_challenged(a) for a in answers if a.status_code == 401)
    assert _tills_named(world.crm, prefix) == 1


def test_a_code_is_compared_exactly_as_issued(world: World) -> None:
    code = _code(world)
    assert code != code.lower()
    refused = _enroll(world.crm, code.lower())
    assert _challenged(refused)
    assert refused.json()["code"] == "bad_code"
    assert _enroll(world.crm, code).status_code == 201  # the refused try spent nothing


def test_an_expired_code_enrolls_nothing(world: World) -> None:
    code = _code(world, now=datetime.now(UTC) - admin.ENROLLMENT_CODE_TTL - timedelta(seconds=1))
    assert _challenged(_enroll(world.crm, code))


def test_every_401_carries_the_bearer_challenge(crm: RunningCrm) -> None:
    with crm.client() as http:
        missing = http.get("/tills/me")
        not_bearer = http.get("/operators", headers={"Authorization": "Basic dGlsbDp0aWxs"})
    with crm.client("not-a-token") as http:
        unknown = http.post("/sync/push", json={"ops": []})
    for response in (missing, not_bearer, unknown):
        assert _challenged(response), response.text


def _enrolled(world: World) -> tuple[str, str]:
    """A new till's id and token."""
    answer = _enroll(world.crm, _code(world), f"revoked-{uuid4().hex[:8]}")
    assert answer.status_code == 201, answer.text
    return answer.json()["context"]["till_id"], answer.json()["token"]


def _revoke(crm: RunningCrm, till_id: str, token: str | None = ADMIN_TOKEN) -> httpx.Response:
    with crm.client(token) as http:
        return http.post(f"/admin/tills/{till_id}/revoke")


def test_the_admin_api_revokes_a_token_at_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ADMIN_TOKEN_ENV, ADMIN_TOKEN)
    till_id, token = _enrolled(world)
    with world.crm.client(token) as http:
        assert http.get("/tills/me").status_code == 200
        revoked = _revoke(world.crm, till_id)
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["till_id"] == till_id
        for refused in (http.get("/tills/me"), http.post("/sync/push", json={"ops": []})):
            assert _challenged(refused)
            assert "revoked" in refused.json()["detail"]
    again = _revoke(world.crm, till_id)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    with world.client("brand.b") as http:  # the others' tokens still work
        assert http.get("/tills/me").status_code == 200


def test_the_admin_api_admits_only_the_admin_token(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    till_id, token = _enrolled(world)
    monkeypatch.delenv(ADMIN_TOKEN_ENV, raising=False)
    assert _revoke(world.crm, till_id).json()["code"] == "admin_disabled"
    monkeypatch.setenv(ADMIN_TOKEN_ENV, "short")  # guessable: the API stays off
    assert _revoke(world.crm, till_id, "short").status_code == 403
    monkeypatch.setenv(ADMIN_TOKEN_ENV, ADMIN_TOKEN)
    for wrong in (None, token, ADMIN_TOKEN + "y", world.tokens["brand.a"]):
        assert _challenged(_revoke(world.crm, till_id, wrong))
    assert _revoke(world.crm, "no-such-till").status_code == 404
    with world.crm.client(token) as http:  # nothing above revoked it
        assert http.get("/tills/me").status_code == 200


def test_crm_revoke_till_refuses_the_token_at_once(world: World, tmp_path: Path) -> None:
    till_id, token = _enrolled(world)
    config = tmp_path / "config.toml"
    config.write_text("")
    runner = CliRunner()

    def revoke(till: str) -> tuple[int, str]:
        done = runner.invoke(
            main, ["--config", str(config), "crm", "revoke-till", till, "--db", world.crm.db_url]
        )
        return done.exit_code, done.output

    exit_code, output = revoke(till_id)
    assert exit_code == 0, output
    assert f"till {till_id} revoked since" in output
    with world.crm.client(token) as http:
        assert _challenged(http.get("/tills/me"))
    exit_code, output = revoke("no-such-till")
    assert exit_code == 1
    assert "no till 'no-such-till'" in output
