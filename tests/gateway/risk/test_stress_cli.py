"""``reponet risk stress``: how flags become scenarios, and the report files (JSON as the API answers it, CSV one row
per scenario, side and counterparty) from a real answer of the API."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from gateway.exceptions import InvalidRequest
from gateway.risk.stress_cli import CSV_FIELDS, scenarios, write
from tests.gateway.conftest import Cast, World


def test_flags_become_scenarios() -> None:
    default = scenarios([], [], combine=False)
    assert [s["name"] for s in default] == ["instrument:*:-500", "instrument:*:-1000", "instrument:*:-2000"]
    assert default[1]["shocks"] == [{"kind": "instrument", "target": "*", "bps": -1000}]
    two = ["issuer:DE0001:-1000", "currency:USD:-500"]
    assert [len(s["shocks"]) for s in scenarios(two, [], combine=False)] == [1, 1]
    (together,) = scenarios(two, [], combine=True)
    assert together["shocks"][1] == {"kind": "currency", "target": "USD", "bps": -500}
    ladder = scenarios(["rate:*:100"], ["issuer:FR:-500,-1000"], combine=False)
    assert [s["name"] for s in ladder] == ["rate:*:100", "issuer:FR:-500", "issuer:FR:-1000"]
    with pytest.raises(InvalidRequest):
        scenarios(["price:*:-5"], [], combine=False)


def test_report_files(world: World, cast: Cast, tmp_path: Path) -> None:
    body = {"scenarios": scenarios([], [], combine=False)}
    answer = cast.a_viewer.post("/v1/risk/stress", json=body)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    # a pair of each side so that the CSV has rows to write (the API's shape, as a live book would give it)
    pair = {"role": "lender", "counterparty_id": str(world.orgs["b"]), "cash_token": "0x" + "11" * 20,
            "agreement_id": None, "repos": 3, "exposure_before": "-1.00", "exposure_after": "4.00",
            "call_before": "0.00", "call_after": "4.00", "shortfall_after": "2.00"}  # fmt: skip
    report["scenarios"][0]["pairs"] = [pair, {**pair, "role": "borrower"}]
    write(report, json_path=tmp_path / "r.json", csv_path=tmp_path / "r.csv")
    assert json.loads((tmp_path / "r.json").read_text()) == report
    with (tmp_path / "r.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == CSV_FIELDS
    assert [(r["scenario"], r["role"], r["call_after"]) for r in rows] == [
        ("instrument:*:-500", "lender", "4.00"),
        ("instrument:*:-500", "borrower", "4.00"),
    ]
