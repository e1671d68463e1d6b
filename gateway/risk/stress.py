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

Across currencies, as the live service nets (gateway.risk.fx): a pair under an agreement is one figure in the
agreement's base currency — each repo's exposure in its own cash, converted at the FX rate into the base (owed in
full rounded up, an excess after the FX haircut) — and a currency shock moves that conversion too (the cash's
currency against the base's). A repo whose cash has no fresh rate into the base is shown under the engine's own
rule in its own cash, as are the repos of a counterparty without an agreement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from gateway.risk.eligibility import Eligible, agreed_value
from gateway.risk.exposure import BPS, PRICE_SCALE, Method, RepoValue, Terms, call_amount, repo_exposure
from gateway.risk.fx import SAME, Conversion, to_base

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
    base_currency: str | None  # lower case token; the pair's repos net in it
    eligible: tuple[Eligible, ...] = ()  # the agreement's schedule: the pair's exposure at its haircuts
    base_iso: str | None = None  # the base token's ISO currency: a currency shock on it moves the conversions
    rates: Mapping[str, Conversion] = field(default_factory=dict)  # other cash tokens into the base (fresh only)


@dataclass(frozen=True)
class PairResult:
    role: Role
    counterparty: str
    cash_token: str  # the currency of the pair's figures: the agreement's base when it covers the pair
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
    calls_to_make: dict[str, int]  # by the pairs' currency: as lender, after the shock
    calls_to_meet: dict[str, int]  # by the pairs' currency: as borrower, after the shock
    shortfall: dict[str, int]  # by the pairs' currency: as lender, after the shock


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


def _terms_for(repo: StressRepo, agreements: dict[str, PairTerms]) -> tuple[PairTerms, Conversion]:
    """The agreement the repo nets under and its cash's conversion into the agreement's base currency."""
    found = agreements.get(repo.counterparty)
    if found is not None:
        if found.base_currency == repo.cash_token:
            return found, SAME
        rate = found.rates.get(repo.cash_token)
        if rate is not None:
            return found, rate
    return PairTerms(agreement_id=None, terms=NO_AGREEMENT, base_currency=None), SAME


def shocked_conversion(
    conversion: Conversion, cash_iso: str | None, base_iso: str | None, shocks: Iterable[Shock]
) -> Conversion:
    """The cash's rate into the base after the currency shocks: the cash's currency moving by the shock, or the
    base's (the rate then by the inverse); rounded down (a 1e18 rate: far below a smallest unit)."""
    if conversion is SAME:  # the repo's cash is the base itself
        return conversion
    rate = conversion.rate
    for s in shocks:
        if s.kind is not ShockKind.CURRENCY:
            continue
        target = s.target.upper()
        cash, base = (cash_iso or "").upper() == target, (base_iso or "").upper() == target
        if cash and not base:
            rate = rate * (BPS + s.bps) // BPS
        elif base and not cash:
            rate = rate * BPS // max(1, BPS + s.bps)
    return replace(conversion, rate=rate)


def _scheduled(repo: StressRepo, agreed: PairTerms) -> StressRepo:
    """The repo as the agreement's eligible collateral schedule values it (its own haircut without one)."""
    value = agreed_value(agreed.eligible, repo.value, isin=repo.collateral.isin, currency=repo.collateral.currency)
    return repo if value == repo.value else replace(repo, value=value)


@dataclass(frozen=True)
class _Netted:
    repo: StressRepo
    agreed: PairTerms
    conversion: Conversion


def run(repos: Sequence[StressRepo], agreements: dict[str, PairTerms], scenario: Scenario, now: int) -> ScenarioResult:
    """One scenario over a member's live repos (both sides); pairs keyed by role, counterparty and the currency
    they net in (the agreement's base, or the repo's cash without an agreement covering it)."""
    groups: dict[tuple[Role, str, str], list[_Netted]] = {}
    for r in repos:
        agreed, conversion = _terms_for(r, agreements)
        currency = agreed.base_currency or r.cash_token
        groups.setdefault((r.role, r.counterparty, currency), []).append(_Netted(r, agreed, conversion))
    pairs: list[PairResult] = []
    to_make: dict[str, int] = {}
    to_meet: dict[str, int] = {}
    short: dict[str, int] = {}
    shocks = scenario.shocks
    for (role, counterparty, currency), members in sorted(groups.items()):
        agreed = members[0].agreed
        method = agreed.terms.method
        before = after = lost = 0
        for m in members:
            moved = shocked_conversion(m.conversion, m.repo.cash_currency, agreed.base_iso, shocks)
            scheduled = _scheduled(m.repo, agreed)  # at the schedule's haircuts, as the live service nets
            before += to_base(repo_exposure(scheduled.value, method), m.conversion)
            after += to_base(repo_exposure(shocked(scheduled, shocks, now), method), moved)
            lost += to_base(shortfall(shocked(m.repo, shocks, now)), moved)
        result = PairResult(
            role=role,
            counterparty=counterparty,
            cash_token=currency,
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
            to_make[currency] = to_make.get(currency, 0) + result.call_after
            short[currency] = short.get(currency, 0) + lost
        else:
            to_meet[currency] = to_meet.get(currency, 0) + result.call_after
    return ScenarioResult(scenario.name, tuple(pairs), to_make, to_meet, short)


def ladder(kind: ShockKind, target: str, moves_bps: Iterable[int]) -> list[Scenario]:
    """The usual set: one scenario per move on one target (e.g. every collateral −5%, −10%, −20%)."""
    return [Scenario(f"{kind.value} {target} {m:+d}bps", (Shock(kind, target, m),)) for m in moves_bps]
