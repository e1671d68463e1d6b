"""Valuation times: the latest point at or before now (yesterday's last one before today's first); none means
continuous valuation; the times are part of an agreement's version, validated and shown."""

from __future__ import annotations

from gateway.risk.valuation import DAY, latest_point
from tests.gateway.conftest import Cast, World
from tests.gateway.market import call, list_instrument

MIDNIGHT = 20_000 * DAY  # a UTC midnight


def test_the_latest_point_at_or_before_now() -> None:
    times = ("08:00", "16:30")
    assert latest_point((), MIDNIGHT + 5) is None  # continuous
    assert latest_point(times, MIDNIGHT + 8 * 3_600) == MIDNIGHT + 8 * 3_600  # at the point itself
    assert latest_point(times, MIDNIGHT + 8 * 3_600 - 1) == MIDNIGHT - DAY + 16 * 3_600 + 1_800  # yesterday's last
    assert latest_point(times, MIDNIGHT + 23 * 3_600) == MIDNIGHT + 16 * 3_600 + 1_800
    assert latest_point(("16:30", "08:00"), MIDNIGHT + 12 * 3_600) == MIDNIGHT + 8 * 3_600  # any order


def test_valuation_times_are_part_of_the_agreed_version(world: World, cast: Cast) -> None:
    cash = "0x" + "13" * 20
    list_instrument(world, cash, "cash", 2, "EURt")
    body = {
        "counterparty_id": str(world.orgs["b"]), "base_currency": cash, "threshold": "0", "minimum_transfer": "0",
        "cure_period_seconds": 3600, "valuation_times": ["16:00", "08:00", "16:00"],
    }  # fmt: skip
    bad = call(cast.a_approver, "/v1/risk/agreements", {**body, "valuation_times": ["24:00"]})
    assert bad.status_code == 422, bad.text
    proposed = call(cast.a_approver, "/v1/risk/agreements", body)
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["valuation_times"] == ["08:00", "16:00"]  # sorted, once each
    approved = call(cast.b_approver, f"/v1/risk/agreements/{proposed.json()['id']}/approve", {})
    assert approved.json()["status"] == "effective" and approved.json()["valuation_times"] == ["08:00", "16:00"]
