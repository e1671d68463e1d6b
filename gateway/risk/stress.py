"""Stress and what-if: shocked prices → the margin calls the agreements would imply and the close-out shortfalls,
per member and counterparty. Pure integer arithmetic over the same exposure functions the watcher calls on, so a
scenario of no shock gives exactly the calls the service would make now.

Shocks compose by multiplication, each a signed move in basis points (−1000: −10%):

- ``instrument``: the collateral token's price (target: its address, or ``*`` for every collateral);
- ``issuer``: every collateral whose ISIN starts with the target (country code and the issuer's part of the
  national number, e.g. ``DE0001`` for German federal debt) — the platform knows no issuer beyond the ISIN;
- ``currency``: values in that ISO currency against every other: a collateral quoted in it moves by the shock, a
  collateral whose cash side is in it moves by the inverse (both in it: unchanged);
- ``rate``: a parallel yield shift of ``bps`` on bonds (target: their currency, or ``*``); the price moves by
  −duration × shift with the duration taken as the bond's years to maturity (zero-coupon bound, the largest move).

The shortfall is what the lender would lose closing out now at the shocked price: ``max(0, RP − MV − cash
margin)`` per repo, no haircut — what remains uncovered if the borrower defaults and posts nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from gateway.risk.exposure import BPS, PRICE_SCALE, Method, RepoValue, Terms, call_amount, repo_exposure

YEAR_SECONDS = 365 * 86_400
ANY = "*"
NO_AGREEMENT = Terms(threshold=0, minimum_transfer=0, rounding=1, method=Method.B)  # what the engine alone demands


class ShockKind(StrEnum):
    INSTRUMENT = "instrument"
    ISSUER = "issuer"
    CURRENCY = "currency"
    RATE = "rate"


class Role(StrEnum):
    LENDER = "lender"  # the member holds the repo: calls it would make, shortfalls it would bear
    BORROWER = "borrower"  # the member sold the collateral: calls it would have to meet


@dataclass(frozen=True)
class Shock:
    kind: ShockKind
    target: str
    bps: int  # signed; for ``rate`` the yield shift (+100: yields up 1%, prices down)


@dataclass(frozen=True)
class Scenario:
    name: str
    shocks: tuple[Shock, ...]


@dataclass(frozen=True)
class Collateral:
    """What the shocks need to know of a collateral token."""

    address: str  # lower case
    isin: str | None
    currency: str | None  # ISO code the bond is denominated in
    maturity: int | None  # Unix seconds


@dataclass(frozen=True)
class StressRepo:
    value: RepoValue
    role: Role
    counterparty: str
    cash_token: str  # lower case
    cash_currency: str | None
    collateral: Collateral


@dataclass(frozen=True)
class PairTerms:
    agreement_id: str | None
    terms: Terms
    base_currency: str | None  # lower case; the agreement covers only repos in this cash token


@dataclass(frozen=True)
class PairResult:
    role: Role
    counterparty: str
    cash_token: str
    agreement_id: str | None
    repos: int
    exposure_before: int
    exposure_after: int
    call_before: int
    call_after: int
    shortfall_after: int


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    pairs: tuple[PairResult, ...]
    calls_to_make: dict[str, int]  # by cash token: as lender, after the shock
    calls_to_meet: dict[str, int]  # by cash token: as borrower, after the shock
    shortfall: dict[str, int]  # by cash token: as lender, after the shock


def price_factor(repo: StressRepo, shocks: Iterable[Shock], now: int) -> tuple[int, int]:
    """The shocked price as a fraction of the current one (numerator, denominator), exact."""
    num, den = 1, 1
    c = repo.collateral
    for s in shocks:
        if s.kind is ShockKind.INSTRUMENT and s.target.lower() in (ANY, c.address):
            num, den = num * (BPS + s.bps), den * BPS
        elif s.kind is ShockKind.ISSUER and c.isin is not None and c.isin.upper().startswith(s.target.upper()):
            num, den = num * (BPS + s.bps), den * BPS
        elif s.kind is ShockKind.CURRENCY:
            target = s.target.upper()
            quoted, paid = c.currency == target, repo.cash_currency == target
            if quoted and not paid:
                num, den = num * (BPS + s.bps), den * BPS
            elif paid and not quoted:
                num, den = num * BPS, den * (BPS + s.bps)
        elif s.kind is ShockKind.RATE and c.maturity is not None and s.target.upper() in (ANY, c.currency):
            remaining = max(0, c.maturity - now)
            # 1 − years × shift, as one fraction over YEAR_SECONDS × BPS; never below zero
            move = remaining * s.bps
            num, den = num * max(0, YEAR_SECONDS * BPS - move), den * YEAR_SECONDS * BPS
    return num, den


def shocked(repo: StressRepo, shocks: Sequence[Shock], now: int) -> RepoValue:
    num, den = price_factor(repo, shocks, now)
    return replace(repo.value, price=repo.value.price * num // den)  # rounded down: the lender's side


def shortfall(value: RepoValue) -> int:
    """Uncovered after a close-out at this price: RP − MV − cash margin, never negative (MV rounded down)."""
    mv = value.collateral_amount * value.price // PRICE_SCALE
    return max(0, value.repurchase_price - mv - value.cash_margin)


def _terms_for(repo: StressRepo, agreements: dict[str, PairTerms]) -> PairTerms:
    found = agreements.get(repo.counterparty)
    if found is None or found.base_currency != repo.cash_token:
        return PairTerms(agreement_id=None, terms=NO_AGREEMENT, base_currency=None)
    return found


def run(repos: Sequence[StressRepo], agreements: dict[str, PairTerms], scenario: Scenario, now: int) -> ScenarioResult:
    """One scenario over a member's live repos (both sides); pairs keyed by role, counterparty and cash token."""
    groups: dict[tuple[Role, str, str], list[StressRepo]] = {}
    for r in repos:
        groups.setdefault((r.role, r.counterparty, r.cash_token), []).append(r)
    pairs: list[PairResult] = []
    to_make: dict[str, int] = {}
    to_meet: dict[str, int] = {}
    short: dict[str, int] = {}
    for (role, counterparty, cash), members in sorted(groups.items()):
        agreed = _terms_for(members[0], agreements)
        method = agreed.terms.method
        before = sum(repo_exposure(r.value, method) for r in members)
        after_values = [shocked(r, scenario.shocks, now) for r in members]
        after = sum(repo_exposure(v, method) for v in after_values)
        lost = sum(shortfall(v) for v in after_values)
        result = PairResult(
            role=role,
            counterparty=counterparty,
            cash_token=cash,
            agreement_id=agreed.agreement_id,
            repos=len(members),
            exposure_before=before,
            exposure_after=after,
            call_before=call_amount(before, agreed.terms),
            call_after=call_amount(after, agreed.terms),
            shortfall_after=lost,
        )
        pairs.append(result)
        if role is Role.LENDER:
            to_make[cash] = to_make.get(cash, 0) + result.call_after
            short[cash] = short.get(cash, 0) + lost
        else:
            to_meet[cash] = to_meet.get(cash, 0) + result.call_after
    return ScenarioResult(scenario.name, tuple(pairs), to_make, to_meet, short)


def ladder(kind: ShockKind, target: str, moves_bps: Iterable[int]) -> list[Scenario]:
    """The usual set: one scenario per move on one target (e.g. every collateral −5%, −10%, −20%)."""
    return [Scenario(f"{kind.value} {target} {m:+d}bps", (Shock(kind, target, m),)) for m in moves_bps]
