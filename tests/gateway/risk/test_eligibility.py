"""The eligible collateral schedule: the first matching row by class (ISIN prefixes) and currency sets the haircut
(never below the repo's own), a bond no row matches counts for nothing, no schedule leaves the repo's haircut; the
schedule is part of an agreement's version, effective only when the counterparty approves, and a new schedule is
a new version."""

from __future__ import annotations

from gateway.risk.eligibility import Eligible, agreed_haircut, agreed_value
from gateway.risk.exposure import BPS, PRICE_SCALE, Method, RepoValue, repo_exposure
from tests.gateway.conftest import Cast, World
from tests.gateway.market import call, list_instrument

SCHEDULE = (
    Eligible("UST", ("US912",), "USD", 200),
    Eligible("EUR govies", ("DE", "FR"), "EUR", 300),
    Eligible("other USD", (), "USD", 800),
)


def test_first_match_larger_haircut_ineligible_counts_nothing() -> None:
    ust = {"isin": "US912828XG55", "currency": "USD"}
    assert agreed_haircut(SCHEDULE, **ust, repo_bps=100) == 200  # the schedule's, above the repo's
    assert agreed_haircut(SCHEDULE, **ust, repo_bps=500) == 500  # the repo's, above the schedule's
    assert agreed_haircut(SCHEDULE, isin="US0000000011", currency="usd", repo_bps=100) == 800  # the catch-all USD row
    assert agreed_haircut(SCHEDULE, isin="DE0001102580", currency="EUR", repo_bps=0) == 300
    assert agreed_haircut(SCHEDULE, isin="GB0000000001", currency="GBP", repo_bps=0) == BPS  # not eligible
    assert agreed_haircut((), isin=None, currency=None, repo_bps=150) == 150  # no schedule: the repo's own
    repo = RepoValue(1, "L", "B", 990 * 10**6, 1_000 * 10**2, PRICE_SCALE * 10**4, BPS, 0)  # MV 1,000; all cut
    assert repo_exposure(repo, Method.B) == 990 * 10**6  # ineligible: the whole repurchase price is exposed


def test_ineligible_collateral_counts_nothing_under_either_method() -> None:
    """Not in the schedule (or at a 100% haircut): market value zero at the repo's own haircut, so method A is the
    GMRA's RP × margin ratio − 0 (a 100% haircut would have made the ratio infinite: a ValueError before)."""
    rp, margin = 990 * 10**6, 10 * 10**6
    repo = RepoValue(1, "L", "B", rp, 1_000 * 10**2, PRICE_SCALE * 10**4, 200, margin)  # MV 1,000, own haircut 2%
    gilt = agreed_value(SCHEDULE, repo, isin="GB0000000001", currency="GBP")
    assert (gilt.collateral_amount, gilt.haircut_bps) == (0, 200)
    assert repo_exposure(gilt, Method.B) == rp - margin
    assert repo_exposure(gilt, Method.A) == -((-(rp - margin) * BPS) // (BPS - 200))  # (RP − m) / 0.98, rounded up
    cut_all = (Eligible("all", (), "*", BPS),)
    assert agreed_value(cut_all, repo, isin="US912828XG55", currency="USD") == gilt  # a 100% row: the same
    ust = agreed_value(SCHEDULE, repo, isin="US912828XG55", currency="USD")
    assert (ust.collateral_amount, ust.haircut_bps) == (repo.collateral_amount, 200)  # eligible: valued as before
    assert agreed_value((), repo, isin=None, currency=None) == repo


def test_the_schedule_is_part_of_the_agreed_version(world: World, cast: Cast) -> None:
    cash = "0x" + "12" * 20
    list_instrument(world, cash, "cash", 2, "USDt")
    body = {
        "counterparty_id": str(world.orgs["b"]), "base_currency": cash, "threshold": "0", "minimum_transfer": "0",
        "cure_period_seconds": 3600, "auto_call": True,
        "eligible": [{"collateral_class": "UST", "isin_prefixes": ["US912"], "currency": "USD", "haircut_bps": 200}],
    }  # fmt: skip
    proposed = call(cast.a_approver, "/v1/risk/agreements", body)
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["eligible"] == [body["eligible"][0]]  # type: ignore[index]
    approved = call(cast.b_approver, f"/v1/risk/agreements/{proposed.json()['id']}/approve", {})
    assert approved.json()["status"] == "effective" and approved.json()["eligible"][0]["haircut_bps"] == 200
    bad = {**body, "eligible": [{"collateral_class": "x", "currency": "usd", "haircut_bps": 20_000}]}
    assert call(cast.a_approver, "/v1/risk/agreements", bad).status_code == 422
    wider = {**body, "eligible": [*body["eligible"], {"collateral_class": "any", "haircut_bps": 1_000}]}  # type: ignore[list-item]
    v2 = call(cast.a_approver, "/v1/risk/agreements", wider).json()
    assert v2["version"] == 2 and v2["status"] == "proposed" and v2["eligible"][1]["currency"] == "*"
    shown = cast.b_viewer.get(f"/v1/risk/agreements/{proposed.json()['id']}").json()
    assert shown["status"] == "effective" and len(shown["eligible"]) == 1  # until B approves the new version
