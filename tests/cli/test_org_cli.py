"""`tillcrm crm define-field` and `tillcrm crm set`: an installer configures a connected group's
fields and settings, and a child's till receives them in its context."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.support.crm_server import serve_crm
from tillcrm.cli import main


def test_fields_and_settings_set_from_the_cli_reach_a_childs_till(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    url = f"sqlite:///{tmp_path / 'crm.sqlite3'}"
    runner = CliRunner()

    def crm(*args: str) -> tuple[int, str]:
        done = runner.invoke(main, ["--config", str(config), "crm", *args, "--db", url])
        assert done.exception is None or isinstance(done.exception, SystemExit), (
            args,
            done.exception,
        )
        return done.exit_code, done.stdout + done.stderr

    assert crm("demo-data", "--customers", "20")[0] == 0
    assert crm("define-field", "--org", "demo-lakeside", "--name", "tier", "--label", "Tier") == (
        0,
        "demo-lakeside defines custom field 'tier'\n",
    )
    assert crm("define-field", "--org", "demo-lakeside-east", "--name", "tier")[0] == 0
    assert crm("define-field", "--org", "demo-lakeside-east", "--name", "dock")[0] == 0
    assert crm("define-field", "--org", "demo-lakeside-west", "--name", "slip")[0] == 0
    assert crm("set", "--owner", "demo-lakeside", "receipt_footer", "Lakeside")[0] == 0
    assert crm("set", "--owner", "demo-lakeside-east", "receipt_footer", "East")[0] == 0
    assert crm("set", "--owner", "demo-east", "printer", "kitchen")[0] == 0

    refused, said = crm("define-field", "--org", "demo-east", "--name", "x")
    assert refused == 1
    assert "no organization 'demo-east'; known: " in said
    refused, said = crm("define-field", "--org", "demo-lakeside", "--name", "")
    assert refused == 1
    assert "name: String should have at least 1 character" in said
    refused, said = crm("set", "--owner", "demo-lakeside", "k", "v" * 501)
    assert refused == 1
    assert "its value at most 500" in said
    code, said = crm("enroll-till", "--store", "demo-east-store")
    assert code == 0
    enrollment = said.splitlines()[0]

    with serve_crm(url) as running, running.client() as http:
        context = http.post("/tills/enroll", json={"code": enrollment}).json()["context"]
    fields = [(f["org_id"], f["name"], f["label"]) for f in context["fields"]]
    assert fields == [  # the demo data's Lakeside fields, and those defined above
        ("demo-lakeside", "home_club", "Home club"),
        ("demo-lakeside", "member_since", "Member since"),
        ("demo-lakeside", "tier", "Tier"),
        ("demo-lakeside-east", "dock", ""),
        ("demo-lakeside-east", "locker", "Locker"),
    ]
    assert context["settings"] == {
        "receipt_footer": "Lakeside",
        "printer": "kitchen",
        "guest_passes_per_visit": "2",  # the demo data's
    }
