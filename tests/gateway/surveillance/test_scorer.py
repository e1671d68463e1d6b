"""Live scoring of feed items: a wash pair is alerted once with its evidence, KYC-lapsed activity is alerted,
non-trade items and repeats change nothing; the rules for size, new counterparty at size and collateral
concentration fire on what they target and not on the member's usual business."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gateway.surveillance.exceptions import SurveillanceError
from gateway.surveillance.rules import (
    CollateralConcentration,
    NewCounterpartyAtSize,
    OffMarket,
    SizeOutlier,
    WashTrade,
    run_rules,
)
from gateway.surveillance.scorer import Scorer, configured_rules
from gateway.surveillance.trades import DAY, Side, Trade, Typology

BOND = "0x" + "bb" * 20
CASH = "0x" + "cc" * 20


def item(
    sequence: int, trade_id: str, seller: str, buyer: str, *, minute: int = 0, cash: int = 100_000
) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "at": f"2026-12-04T10:{minute:02d}:00+00:00",
        "actor": "user:x",
        "action": "trade.signed",
        "object_type": "trade",
        "object_id": trade_id,
        "trade": {
            "trade_id": trade_id,
            "seller_org": seller,
            "buyer_org": buyer,
            "seller_wallet": "0x1",
            "buyer_wallet": "0x2",
            "cash_token": CASH,
            "cash_decimals": 2,
            "collateral_token": BOND,
            "purchase_price": str(cash * 100),
            "collateral_amount": "120000",
            "rate": str(5 * 10**16),
            "haircut_bps": 200,
            "start_time": 1_796_000_000,
            "maturity": 1_796_000_000 + 7 * DAY,
        },
    }


def test_a_wash_pair_is_alerted_once_with_both_trades_as_evidence() -> None:
    scorer = Scorer()
    assert scorer.handle(item(1, "t1", "A", "B")) == []
    login = {"sequence": 2, "at": "2026-12-04T10:01:00+00:00", "actor": "user:y", "action": "auth.login",
             "object_type": "user", "object_id": "y", "trade": None}  # fmt: skip
    assert scorer.handle(login) == []
    alerts = scorer.handle(item(3, "t2", "B", "A", minute=20))
    assert [(a.detector, a.severity, a.subject) for a in alerts] == [("wash_trade", "high", "B")]
    assert [t["trade_id"] for t in alerts[0].evidence["trades"]] == ["t1", "t2"]
    assert scorer.handle(item(3, "t2", "B", "A", minute=20)) == []  # the same trade again (another signature)


def test_activity_after_kyc_lapsed_is_alerted_until_restored() -> None:
    scorer = Scorer(rules=[])
    lapse = {"sequence": 1, "at": "2026-12-04T09:00:00+00:00", "actor": "system:kyc", "action": "kyc.freeze",
             "object_type": "organization", "object_id": "B", "trade": None}  # fmt: skip
    scorer.handle(lapse)
    alerts = scorer.handle(item(2, "t1", "A", "B"))
    assert [(a.detector, a.subject, a.severity) for a in alerts] == [("kyc_lapsed", "B", "high")]
    scorer.handle({**lapse, "sequence": 3, "action": "kyc.unfreeze"})
    assert scorer.handle(item(4, "t2", "A", "B", minute=5)) == []


@pytest.mark.parametrize(
    "renewal",
    [
        {"action": "kyc.approved", "object_type": "kyc_application", "object_id": "app-1", "organization_id": "B"},
        {"action": "chain.kyc_renew.final", "object_type": "organization", "object_id": "B", "organization_id": "B"},
    ],
)
def test_a_renewal_clears_kyc_lapsed(renewal: dict[str, Any]) -> None:
    """Expired, then renewed (the officer's approval of a new application, which the feed names by its member; or
    the renewal final on chain): the member's next trade is not alerted, another member's lapse stays."""
    scorer = Scorer(rules=[])
    for org in ("B", "C"):
        scorer.handle({"sequence": 1, "at": "2026-12-04T09:00:00+00:00", "actor": "system:kyc",
                       "action": "kyc.expired", "object_type": "organization", "object_id": org,
                       "organization_id": org, "trade": None})  # fmt: skip
    scorer.handle({"sequence": 2, "at": "2026-12-04T09:30:00+00:00", "actor": "user:o", "trade": None, **renewal})
    assert scorer.handle(item(3, "t1", "A", "B")) == []
    assert [(a.detector, a.subject) for a in scorer.handle(item(4, "t2", "A", "C", minute=5))] == [("kyc_lapsed", "C")]


def test_rules_take_the_operators_settings_and_refuse_typos() -> None:
    rules = {r.name: r for r in configured_rules({"wash_trade": {"window_seconds": 600}})}
    assert rules["wash_trade"] == WashTrade(window_seconds=600) and rules["off_market"] == OffMarket()
    with pytest.raises(SurveillanceError):
        configured_rules({"wash": {}})
    with pytest.raises(SurveillanceError):
        configured_rules({"wash_trade": {"window": 600}})


BASE = Trade("h0", 10 * DAY, "A", "B", Side.BORROW, 1e6, 350.0, 350.0, 7, 200, "GOV")


def history(n: int = 40) -> list[Trade]:
    return [replace(BASE, trade_id=f"h{i}", time=BASE.time + i * 3_600, collateral=f"GOV{i % 5}") for i in range(n)]


def test_size_far_from_the_members_own_history() -> None:
    big = replace(BASE, trade_id="big", time=BASE.time + 50 * 3_600, cash=9e6)
    hits = run_rules([SizeOutlier()], [*history(), big])
    assert [(h.typology, h.trade_ids) for h in hits] == [(Typology.SIZE_OUTLIER, ("big",))]
    assert not run_rules([SizeOutlier()], [*history(), replace(big, cash=5e6)])
    assert not run_rules([SizeOutlier()], [*history(20), big])  # too little history to know


def test_a_new_counterparty_at_size() -> None:
    new = replace(BASE, trade_id="new", time=BASE.time + 50 * 3_600, counterparty="Z", cash=6e6)
    hits = run_rules([NewCounterpartyAtSize()], [*history(), new])
    assert [(h.typology, h.trade_ids) for h in hits] == [(Typology.NEW_COUNTERPARTY_AT_SIZE, ("new",))]
    assert not run_rules([NewCounterpartyAtSize()], [*history(), replace(new, counterparty="B")])
    assert not run_rules([NewCounterpartyAtSize()], [*history(), replace(new, cash=2e6)])


def test_collateral_concentration_in_a_day() -> None:
    start = BASE.time + 70 * 3_600  # a day after the usual business: the day is all burst
    burst = [replace(BASE, trade_id=f"c{i}", time=start + i * 600, cash=5e6, collateral="ILLIQ") for i in range(5)]
    hits = run_rules([CollateralConcentration()], [*history(), *burst])
    assert hits and hits[-1].typology is Typology.COLLATERAL_CONCENTRATION and hits[-1].trade_ids[-1] == "c4"
    spread = [replace(t, collateral=f"GOV{i}") for i, t in enumerate(burst)]
    assert not run_rules([CollateralConcentration()], [*history(), *spread])
