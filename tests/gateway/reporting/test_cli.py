"""``reponet report validate`` and ``reconcile``: parsed by the real parser, exit 0 when clean, 3 when not."""

from dataclasses import replace
from pathlib import Path

import pytest

from gateway.cli import build_parser
from gateway.exit_status import ExitStatus
from gateway.reporting.csv_export import to_csv
from gateway.reporting.derive import records_of
from gateway.reporting.records import Side
from gateway.reporting.xml_export import document
from tests.gateway.reporting.factories import INSTRUMENTS, PARTIES, PRICES, lifecycle
from tests.gateway.reporting.test_xml_export import HEADER


def _run(*argv: str) -> int:
    args = build_parser().parse_args(["report", *argv])
    return int(args.handler(args, None))


def test_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = records_of(PARTIES, lifecycle(), side=Side.GIVE, instruments=INSTRUMENTS, prices=PRICES)
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_bytes(document(HEADER, records))
    bad.write_bytes(good.read_bytes().replace(b"<CtrPtySd>GIVE", b"<CtrPtySd>LEND"))
    assert _run("validate", str(good)) == ExitStatus.OK
    assert _run("validate", str(bad)) == ExitStatus.REFUSED
    assert "CtrPtySd" in capsys.readouterr().out


def test_reconcile_lists_breaks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    give = records_of(PARTIES, lifecycle(), side=Side.GIVE, instruments=INSTRUMENTS, prices=PRICES)
    take = records_of(PARTIES, lifecycle(), side=Side.TAKE, instruments=INSTRUMENTS, prices=PRICES)
    ours, theirs, off = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    ours.write_text(to_csv(give))
    theirs.write_text(to_csv(take))
    off.write_text(to_csv([*take[:-1], replace(take[-1], haircut="3.00")]))
    assert _run("reconcile", "--ours", str(ours), "--theirs", str(theirs)) == ExitStatus.OK
    assert "paired 1, matched 1, breaks 0" in capsys.readouterr().out
    assert _run("reconcile", "--ours", str(ours), "--theirs", str(off)) == ExitStatus.REFUSED
    assert "field haircut ours='2.00' theirs='3.00'" in capsys.readouterr().out
