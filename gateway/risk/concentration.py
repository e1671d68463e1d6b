"""Concentration of a member's live book: collateral market value by issuer, and exposure by counterparty, each
per cash token with its share of the token's total (basis points). Pure: ``gateway.risk.inputs.book`` supplies the
repos, valued from the gateway's own index.

The issuer of a bond is read from its ISIN: the first ``issuer_chars`` characters (default 8: the country code and
the six-character issuer code that CUSIP- and CINS-based ISINs carry); a bond without an ISIN is its own issuer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from gateway.risk.exposure import BPS, PRICE_SCALE, Method, repo_exposure
from gateway.risk.stress import Role, StressRepo

ISSUER_CHARS = 8


@dataclass(frozen=True)
class Bucket:
    key: str  # the issuer (ISIN prefix or collateral address) or the counterparty's organization id
    cash_token: str
    role: Role
    repos: int
    collateral_value: int  # market value, smallest units of the cash token, no haircut
    exposure: int  # net exposure (positive: the lender is under-collateralized), method B
    share_bps: int  # of the token's total collateral value on that side (issuer) or of positive exposure (pair)


def issuer_of(repo: StressRepo, issuer_chars: int = ISSUER_CHARS) -> str:
    isin = repo.collateral.isin
    return isin[:issuer_chars].upper() if isin else repo.collateral.address


def _mv(repo: StressRepo) -> int:
    return repo.value.collateral_amount * repo.value.price // PRICE_SCALE


def _share(part: int, whole: int) -> int:
    return part * BPS // whole if whole > 0 else 0


def by_issuer(repos: list[StressRepo], issuer_chars: int = ISSUER_CHARS) -> list[Bucket]:
    """Collateral value per issuer, as lender (received) and as borrower (given), largest share first."""
    value: dict[tuple[str, str, Role], int] = defaultdict(int)
    exposure: dict[tuple[str, str, Role], int] = defaultdict(int)
    count: dict[tuple[str, str, Role], int] = defaultdict(int)
    totals: dict[tuple[str, Role], int] = defaultdict(int)
    for r in repos:
        key = (issuer_of(r, issuer_chars), r.cash_token, r.role)
        mv = _mv(r)
        value[key] += mv
        exposure[key] += repo_exposure(r.value, Method.B)
        count[key] += 1
        totals[(r.cash_token, r.role)] += mv
    out = [
        Bucket(k[0], k[1], k[2], count[k], v, exposure[k], _share(v, totals[(k[1], k[2])])) for k, v in value.items()
    ]
    return sorted(out, key=lambda b: (b.cash_token, b.role.value, -b.share_bps, b.key))


def by_counterparty(repos: list[StressRepo]) -> list[Bucket]:
    """Net exposure per counterparty, each side; the share is of the side's positive exposures in that token."""
    value: dict[tuple[str, str, Role], int] = defaultdict(int)
    exposure: dict[tuple[str, str, Role], int] = defaultdict(int)
    count: dict[tuple[str, str, Role], int] = defaultdict(int)
    for r in repos:
        key = (r.counterparty, r.cash_token, r.role)
        value[key] += _mv(r)
        exposure[key] += repo_exposure(r.value, Method.B)
        count[key] += 1
    positive: dict[tuple[str, Role], int] = defaultdict(int)
    for (_, token, role), e in exposure.items():
        positive[(token, role)] += max(e, 0)
    out = [
        Bucket(k[0], k[1], k[2], count[k], value[k], e, _share(max(e, 0), positive[(k[1], k[2])]))
        for k, e in exposure.items()
    ]
    return sorted(out, key=lambda b: (b.cash_token, b.role.value, -b.share_bps, -b.exposure, b.key))
