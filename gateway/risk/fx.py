"""Cross-currency exposure, in integers: a repo valued in its own cash currency through the oracle's FX pair (as the
engine does, contracts/CURRENCIES.md), and its exposure converted into the agreement's base currency so that a
pair's repos in several currencies net to one figure the threshold and minimum transfer are tested on.

- A repo's collateral priced in currency C, its cash in Q ≠ C: ``V_C = ⌊A·p/1e18⌋``, ``V = ⌊V_C·x/1e18⌋`` (x the
  price of C in Q) and the haircuts add, ``h + f`` with f the FX haircut of (C, Q) — exactly the engine's figure.
- Into the base currency B (``r`` the price of Q in B, ``g`` the FX haircut of (Q, B)): an exposure the lender is
  owed counts in full, rounded up; an excess (negative exposure), which offsets the pair's other repos, counts
  after the FX haircut, rounded towards zero — so the conversion never works against the cash lender.

A call is still made per repo in the repo's own currency and the engine decides it on its own test.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from gateway.risk.exposure import BPS, PRICE_SCALE, Method, RepoValue, repo_exposure


@dataclass(frozen=True)
class Route:
    """How a cross-currency repo's collateral reaches its cash currency: the collateral's ``price`` (in the repo
    value) is in C; ``rate`` is C in the repo's cash token (1e18), ``haircut_bps`` the (C, Q) FX haircut."""

    rate: int
    haircut_bps: int


@dataclass(frozen=True)
class Conversion:
    """A repo's cash token into the agreement's base currency: ``rate`` (1e18) and the (Q, B) FX haircut."""

    rate: int
    haircut_bps: int


SAME = Conversion(rate=PRICE_SCALE, haircut_bps=0)


def in_cash(repo: RepoValue, route: Route | None) -> RepoValue:
    """The repo as if its collateral were priced in the repo's cash: market value ``V`` at price 1 and the FX
    haircut added to the repo's (at most 100%: collateral the schedule does not accept counts for nothing), so
    ``repo_exposure`` then gives the engine's exposure."""
    if route is None:
        return repo
    v_c = repo.collateral_amount * repo.price // PRICE_SCALE
    v = v_c * route.rate // PRICE_SCALE
    return replace(
        repo, collateral_amount=v, price=PRICE_SCALE, haircut_bps=min(BPS, repo.haircut_bps + route.haircut_bps)
    )


def exposure(repo: RepoValue, route: Route | None, method: Method) -> int:
    """The lender's exposure on one repo, in the repo's cash currency (cross-currency: through ``route``)."""
    return repo_exposure(in_cash(repo, route), method)


def to_base(amount: int, conversion: Conversion) -> int:
    """An exposure in the repo's cash currency, in the base currency: owed in full rounded up; excess after the
    FX haircut, rounded towards zero."""
    if conversion == SAME:
        return amount
    if amount >= 0:
        return -((-amount * conversion.rate) // PRICE_SCALE)
    credit = (-amount) * conversion.rate * (BPS - conversion.haircut_bps) // (PRICE_SCALE * BPS)
    return -credit


def net_in_base(items: Iterable[tuple[int, Conversion]]) -> int:
    """A pair's net exposure in the base currency, from each repo's exposure in its own currency."""
    return sum(to_base(amount, conversion) for amount, conversion in items)
