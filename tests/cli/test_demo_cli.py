"""`tillcrm demo --store STORE` as a person types it: an unknown store is refused before
anything starts, with the demo stores listed to choose from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tillcrm.server import demo_data


def test_an_unknown_store_is_refused_with_the_demo_stores_listed(tmp_path: Path) -> None:
    (tmp_path / "none.toml").write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "tillcrm", "demo", "--store", "nowhere"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "TILLCRM_CONFIG": str(tmp_path / "none.toml"), "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 2, result.stderr
    assert "Invalid value for '--store': there is no demo store 'nowhere'" in result.stderr
    listed = result.stderr.split("the demo stores are:", 1)[1]
    for store in demo_data.DEMO_STORES:
        assert store.id in listed
        assert store.name in listed
    assert "starting the demo CRM" not in result.stderr
    assert not list(tmp_path.glob("tillcrm-demo-*"))
