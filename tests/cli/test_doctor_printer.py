"""`tillcrm doctor` checks the receipt printer: a serial printer on a real pseudo-terminal
that has paper is ok, one out of paper or not plugged in is a problem with its fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.crm_server import free_port
from tests.support.printer import PAPER_OK, PAPER_OUT, PAPER_QUERY, PtyPrinter
from tillcrm.cli import main


def _printer_line(tmp_path: Path, printer: str) -> str:
    """The doctor's printer line for a till whose config has `printer` as `[printer]`."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        f'[crm]\nurl = "http://127.0.0.1:{free_port()}"\n'
        f"[printer]\n{printer}\n"
    )
    result = CliRunner().invoke(main, ["--config", str(config), "doctor"])
    return next(line for line in result.output.splitlines() if " printer: " in line)


@pytest.mark.parametrize(("paper", "said"), [(PAPER_OK, "ok     "), (PAPER_OUT, "PROBLEM")])
def test_the_doctor_asks_a_serial_printer_for_paper(
    tmp_path: Path, paper: bytes, said: str
) -> None:
    printer = PtyPrinter(paper)
    try:
        line = _printer_line(tmp_path, f'kind = "serial"\ndevice = "{printer.port}"')
        assert printer.received == PAPER_QUERY, "asked for paper, printed nothing"
    finally:
        printer.close()
    assert line.startswith(f"{said} printer: serial {printer.port}")
    if paper == PAPER_OUT:
        assert "Printer out of paper" in line
        assert "load paper" in line
    else:
        assert line.endswith(" has paper")


def test_the_doctor_names_an_unplugged_printer_and_one_not_configured(tmp_path: Path) -> None:
    line = _printer_line(tmp_path, f'kind = "serial"\ndevice = "{tmp_path / "ttyNONE"}"')
    assert line.startswith("PROBLEM printer: serial ")
    assert "Printer offline" in line
    assert "; fix: switch the printer on" in line
    assert _printer_line(tmp_path, 'kind = "none"') == (
        "ok      printer: none configured (receipts are not printed)"
    )
