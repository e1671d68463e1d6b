"""Exposure in integers (smallest cash units), per repo, net per counterparty pair, and the call decision.

Pure functions so that the watcher, the API and the tests share one definition, checked against a ``Decimal``
reference (tests/gateway/risk/test_exposure.py). Formulas (DESIGN.md, GMRA 2011):

- method B (haircut): ``E = RP − MV × (1 − h) − cash margin``
- method A (margin ratio ``1 / (1 − h)``): ``E = RP / (1 − h) − MV − cash margin / (1 − h)``, i.e. the shortfall
  of collateral market value against the value the margin ratio requires.

Rounding is in the cash lender's favour: the lender's exposure is rounded up, never down, by at most one unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

PRICE_SCALE = 10**18
BPS = 10_000


class Method(StrEnum):
    A = "A"  # margin ratio
    B = "B"  # haircut


def _ceil_div(n: int, d: int) -> int:
    return -((-n) // d)


@dataclass(frozen=True)
class RepoValue:
    """One live repo as the watcher reads it from the gateway, in smallest units."""

    repo_id: int
    lender: str  # organization id of the position holder (cash lender)
    borrower: str  # organization id of the seller (cash borrower)
    repurchase_price: int
    collateral_amount: int
    price: int  # collateral price in cash units per collateral unit, scaled by 1e18
    haircut_bps: int
    cash_margin: int


def repo_exposure(repo: RepoValue, method: Method) -> int:
    """The lender's exposure on one repo (positive: the lender is under-collateralized)."""
    value_num = repo.collateral_amount * repo.price  # MV × 1e18
    if method is Method.B:
        # RP − floor(MV × (1 − h)) − margin, with MV×(1−h) rounded down: the lender's figure is rounded up.
        adjusted = value_num * (BPS - repo.haircut_bps) // (PRICE_SCALE * BPS)
        return repo.repurchase_price - adjusted - repo.cash_margin
    if repo.haircut_bps >= BPS:
        raise ValueError("method A needs a haircut below 100%")
    # (RP − margin) × BPS / (BPS − h) − MV, computed over one denominator and rounded up.
    num = (repo.repurchase_price - repo.cash_margin) * BPS * PRICE_SCALE - value_num * (BPS - repo.haircut_bps)
    return _ceil_div(num, (BPS - repo.haircut_bps) * PRICE_SCALE)


@dataclass(frozen=True)
class Terms:
    """The margin terms of one agreement that drive the call decision."""

    threshold: int
    minimum_transfer: int
    rounding: int  # call amounts rounded up to a multiple of this (1: no rounding)
    method: Method


@dataclass(frozen=True)
class PairExposure:
    lender: str
    borrower: str
    net: int  # sum of the pair's repo exposures with the lender as holder
    repos: tuple[int, ...]


def net_by_pair(exposures: Iterable[tuple[RepoValue, int]]) -> dict[tuple[str, str], PairExposure]:
    """Net exposure per (lender, borrower) pair: a lender's repos with one borrower offset each other."""
    sums: dict[tuple[str, str], int] = {}
    ids: dict[tuple[str, str], list[int]] = {}
    for repo, exposure in exposures:
        key = (repo.lender, repo.borrower)
        sums[key] = sums.get(key, 0) + exposure
        ids.setdefault(key, []).append(repo.repo_id)
    return {k: PairExposure(lender=k[0], borrower=k[1], net=v, repos=tuple(sorted(ids[k]))) for k, v in sums.items()}


def call_amount(net: int, terms: Terms) -> int:
    """What the lender calls on the pair: 0 unless the net exposure passes threshold + minimum transfer, else the
    exposure above the threshold rounded up to the agreement's rounding."""
    if net <= terms.threshold + terms.minimum_transfer:
        return 0
    amount = net - terms.threshold
    step = max(1, terms.rounding)
    return _ceil_div(amount, step) * step


def repos_to_call(
    pair: PairExposure, per_repo: dict[int, int], repo_mta: dict[int, int], terms: Terms
) -> tuple[int, ...]:
    """The pair's repos the engine will accept a call on (``callMargin`` needs the repo's own exposure above its
    minimum transfer amount), when the pair as a whole is due a call; largest exposure first."""
    if call_amount(pair.net, terms) == 0:
        return ()
    due = [r for r in pair.repos if per_repo[r] > repo_mta.get(r, 0)]
    return tuple(sorted(due, key=lambda r: (-per_repo[r], r)))
