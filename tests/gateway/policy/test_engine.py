"""The policy engine alone (gateway/policy/engine.py): rules in order, first match wins, no match allows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.policy.engine import ALLOW_BY_DEFAULT, Action, Rule, TradeFacts, evaluate, period_days

BANK_B = "0b0b0b0b-0000-0000-0000-000000000000"
GOV = "0x" + "aa" * 20
CORP = "0x" + "cc" * 20


def facts(**overrides: Any) -> TradeFacts:
    values: dict[str, Any] = {
        "notional": Decimal("1000000"),
        "counterparty": BANK_B,
        "collateral": GOV,
        "tenor_seconds": 86_400,
        "period_notional": {},
    }
    values.update(overrides)
    return TradeFacts(**values)


def rules(*raw: dict[str, Any]) -> list[Rule]:
    return [Rule.model_validate(r) for r in raw]


def test_no_rule_allows() -> None:
    assert evaluate([], facts()) == ALLOW_BY_DEFAULT


def test_a_notional_limit_blocks_above_it_and_not_at_it() -> None:
    limit = rules({"name": "cap", "when": {"notional_over": "1000000"}, "action": "block"})
    assert evaluate(limit, facts(notional=Decimal("1000000.01"))).action is Action.BLOCK
    assert evaluate(limit, facts(notional=Decimal("1000000"))) == ALLOW_BY_DEFAULT


def test_the_first_matching_rule_decides() -> None:
    ordered = rules(
        {"name": "big", "when": {"notional_over": "5000000"}, "action": "require_approvals", "approvals": 2},
        {"name": "any", "action": "require_approvals", "approvals": 1},
    )
    big = evaluate(ordered, facts(notional=Decimal("6000000")))
    assert (big.action, big.approvals, big.rule, big.index) == (Action.REQUIRE_APPROVALS, 2, "big", 0)
    small = evaluate(ordered, facts())
    assert (small.approvals, small.rule, small.index) == (1, "any", 1)


def test_a_period_limit_counts_the_periods_notional_with_this_trade() -> None:
    limit = rules(
        {"name": "weekly", "when": {"period_notional_over": {"amount": "3000000", "days": 7}}, "action": "block"}
    )
    assert period_days(limit) == {7}
    assert evaluate(limit, facts(period_notional={7: Decimal("3000001")})).action is Action.BLOCK
    assert evaluate(limit, facts(period_notional={7: Decimal("2999999")})) == ALLOW_BY_DEFAULT
    # without the period's figure only this trade counts
    assert evaluate(limit, facts(notional=Decimal("3500000"))).action is Action.BLOCK


def test_counterparty_and_collateral_lists_ignore_case() -> None:
    only_b = rules({"name": "b", "when": {"counterparty_in": [BANK_B.upper()]}, "action": "block"})
    assert evaluate(only_b, facts()).action is Action.BLOCK
    assert evaluate(only_b, facts(counterparty="another")) == ALLOW_BY_DEFAULT
    not_gov = rules({"name": "g", "when": {"collateral_not_in": [GOV.upper()]}, "action": "block"})
    assert evaluate(not_gov, facts()) == ALLOW_BY_DEFAULT
    assert evaluate(not_gov, facts(collateral=CORP)).action is Action.BLOCK


def test_tenor_and_open_repos() -> None:
    long = rules({"name": "long", "when": {"tenor_over_seconds": 86_400}, "action": "block"})
    assert evaluate(long, facts(tenor_seconds=86_401)).action is Action.BLOCK
    assert evaluate(long, facts(tenor_seconds=86_400)) == ALLOW_BY_DEFAULT
    assert evaluate(long, facts(tenor_seconds=None)).action is Action.BLOCK  # an open repo is longer than any tenor
    open_only = rules({"name": "open", "when": {"open_repo": True}, "action": "block"})
    assert evaluate(open_only, facts(tenor_seconds=None)).action is Action.BLOCK
    assert evaluate(open_only, facts()) == ALLOW_BY_DEFAULT


def test_every_condition_of_a_rule_must_hold() -> None:
    both = rules({"name": "both", "when": {"notional_over": "10", "counterparty_in": ["x"]}, "action": "block"})
    assert evaluate(both, facts()) == ALLOW_BY_DEFAULT
    assert evaluate(both, facts(counterparty="X")).action is Action.BLOCK


@pytest.mark.parametrize(
    "raw",
    [
        {"name": "q", "action": "require_approvals"},  # a quorum of zero
        {"name": "q", "action": "require_approvals", "approvals": 11},
        {"name": "q", "action": "allow", "approvals": 1},  # approvals only with require_approvals
        {"name": "q", "action": "block", "when": {"notional_over": "-1"}},
        {"name": "q", "action": "block", "when": {"typo_over": "1"}},  # an unknown condition is refused, not ignored
        {"name": "", "action": "block"},
    ],
)
def test_malformed_rules_are_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Rule.model_validate(raw)
