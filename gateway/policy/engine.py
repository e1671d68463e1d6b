"""The policy engine: an organization's ordered rules, first match wins; no match allows.

A rule is ``{"name": ..., "when": {...conditions...}, "action": "allow" | "block" | "require_approvals",
"approvals": N}``. Every condition present must hold for the rule to match:

- ``notional_over``: the trade's purchase price (decimal, in cash-token units) is above this amount;
- ``period_notional_over`` ``{"amount", "days"}``: this organization's notional over the last ``days`` days,
  this trade included, is above ``amount``;
- ``counterparty_in`` / ``counterparty_not_in``: organization ids;
- ``collateral_in`` / ``collateral_not_in``: collateral token addresses;
- ``tenor_over_seconds``: term longer than this (an open repo counts as longer than any tenor);
- ``open_repo``: true matches open repos only, false term repos only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Action(StrEnum):
    ALLOW = "allow"
    BLOCK = "block"
    REQUIRE_APPROVALS = "require_approvals"


class PeriodLimit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(ge=0)
    days: int = Field(ge=1, le=366)


class Conditions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notional_over: Decimal | None = Field(default=None, ge=0)
    period_notional_over: PeriodLimit | None = None
    counterparty_in: list[str] | None = Field(default=None, max_length=200)
    counterparty_not_in: list[str] | None = Field(default=None, max_length=200)
    collateral_in: list[str] | None = Field(default=None, max_length=200)
    collateral_not_in: list[str] | None = Field(default=None, max_length=200)
    tenor_over_seconds: int | None = Field(default=None, ge=0)
    open_repo: bool | None = None


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    when: Conditions = Field(default_factory=Conditions)
    action: Action
    approvals: int = Field(default=0, ge=0, le=10)

    @model_validator(mode="after")
    def _approvals_need_count(self) -> Rule:
        if self.action is Action.REQUIRE_APPROVALS and self.approvals < 1:
            raise ValueError("require_approvals needs approvals >= 1")
        if self.action is not Action.REQUIRE_APPROVALS and self.approvals:
            raise ValueError("approvals only go with require_approvals")
        return self


@dataclass(frozen=True)
class TradeFacts:
    """What the rules look at, for one side of one trade."""

    notional: Decimal
    counterparty: str
    collateral: str
    tenor_seconds: int | None  # None: open repo
    period_notional: dict[int, Decimal]  # days -> notional over that period, this trade included


@dataclass(frozen=True)
class Decision:
    action: Action
    approvals: int
    rule: str | None  # None: no rule matched
    index: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action.value, "approvals": self.approvals, "rule": self.rule, "index": self.index}


ALLOW_BY_DEFAULT: Decision = Decision(Action.ALLOW, 0, None, None)


def _lower(values: list[str] | None) -> set[str] | None:
    return None if values is None else {v.lower() for v in values}


def matches(c: Conditions, facts: TradeFacts) -> bool:
    if c.notional_over is not None and not facts.notional > c.notional_over:
        return False
    if c.period_notional_over is not None:
        total = facts.period_notional.get(c.period_notional_over.days, facts.notional)
        if not total > c.period_notional_over.amount:
            return False
    inside = _lower(c.counterparty_in)
    if inside is not None and facts.counterparty.lower() not in inside:
        return False
    outside = _lower(c.counterparty_not_in)
    if outside is not None and facts.counterparty.lower() in outside:
        return False
    inside = _lower(c.collateral_in)
    if inside is not None and facts.collateral.lower() not in inside:
        return False
    outside = _lower(c.collateral_not_in)
    if outside is not None and facts.collateral.lower() in outside:
        return False
    if c.tenor_over_seconds is not None and facts.tenor_seconds is not None:
        if not facts.tenor_seconds > c.tenor_over_seconds:
            return False
    if c.open_repo is not None and c.open_repo != (facts.tenor_seconds is None):
        return False
    return True


def evaluate(rules: list[Rule], facts: TradeFacts) -> Decision:
    """The first matching rule decides; no match allows."""
    for index, rule in enumerate(rules):
        if matches(rule.when, facts):
            return Decision(rule.action, rule.approvals, rule.name, index)
    return ALLOW_BY_DEFAULT


def period_days(rules: list[Rule]) -> set[int]:
    return {r.when.period_notional_over.days for r in rules if r.when.period_notional_over is not None}


Side = Literal["seller", "buyer"]
