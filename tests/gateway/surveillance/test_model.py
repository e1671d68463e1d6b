"""The per-member anomaly model: trains per member, normalizes, explains its alerts, and refuses thin history."""

from dataclasses import replace

import pytest

from gateway.surveillance.exceptions import NotEnoughHistory
from gateway.surveillance.features import FEATURES, feature_rows
from gateway.surveillance.model import AnomalyModel, ModelParams
from scripts.surveillance_market import MarketParams, generate


def test_an_off_market_trade_scores_high_and_the_spread_explains_it() -> None:
    market = [lt.trade for lt in generate(MarketParams(seed=11, days=60))]
    member = max({t.member for t in market}, key=lambda m: sum(t.member == m for t in market))
    usual = next(t for t in reversed(market) if t.member == member)
    odd = replace(usual, trade_id="odd", time=usual.time + 600, rate_bps=usual.reference_bps + 400)
    rows = feature_rows([*market, odd])
    model = AnomalyModel.train(market, rows, ModelParams())
    assert member in model.members  # its own forest, not the pooled one
    own = sorted(model.score(member, [rows[t.trade_id] for t in market if t.member == member]))
    [usual_score, odd_score] = model.score(member, [rows[usual.trade_id], rows["odd"]])
    # above 90 % of the member's own history (which holds its specials and injected cases: no cleaner bar is honest)
    assert odd_score > own[int(0.9 * len(own))] and odd_score > usual_score
    top = model.explain(member, rows["odd"])
    assert top[0].feature == "abs_spread_bps" and top[0].value == pytest.approx(400, abs=1)


def test_feature_rows_use_only_the_past() -> None:
    market = [lt.trade for lt in generate(MarketParams(seed=11, days=20))]
    early = feature_rows(market[:100])
    assert all(early[t.trade_id] == row for t, row in zip(market[:100], feature_rows(market).values(), strict=False))
    assert len(next(iter(early.values()))) == len(FEATURES)


def test_too_little_history_is_refused() -> None:
    market = [lt.trade for lt in generate(MarketParams(seed=11, days=3))][:10]
    with pytest.raises(NotEnoughHistory):
        AnomalyModel.train(market, feature_rows(market), ModelParams())
