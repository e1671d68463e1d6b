"""The surveillance system's measured accuracy on the committed seed of the synthetic market, held by a test."""

import time

from scripts.surveillance_eval import evaluate
from scripts.surveillance_market import MarketParams, generate

SEED = 7


def test_combined_system_meets_the_targets_on_the_committed_seed() -> None:
    started = time.monotonic()
    result = evaluate(generate(MarketParams(seed=SEED)), seed=SEED)
    combined = result.get("combined", "all")
    assert combined.positives >= 50, combined  # a market with enough injected cases to measure
    assert combined.precision >= 0.8 and combined.recall >= 0.8, combined
    for typology in ("wash", "round_trip", "off_market", "layering", "dormant_then_large"):
        score = result.get("combined", typology)
        assert score.positives > 0 and score.recall >= 0.8, score
    assert result.alerts_per_member_day["combined"] <= 0.05, result.alerts_per_member_day
    # the model is measured too, and finds cases on its own
    assert result.get("model", "all").pr_auc >= 0.5, result.get("model", "all")
    assert time.monotonic() - started < 60


def test_the_market_is_reproducible_from_its_seed() -> None:
    a, b = generate(MarketParams(seed=SEED, days=30)), generate(MarketParams(seed=SEED, days=30))
    assert a == b
    assert generate(MarketParams(seed=SEED + 1, days=30)) != a
