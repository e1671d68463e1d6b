"""A member's live repos on both sides, valued from the gateway's own index (RP accrued to the chain's now, the
followed oracle price), and its effective agreements: the inputs of a stress run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.chain.bindings.engine import RepoStatus
from gateway.chain.bindings.oracle import Oracle
from gateway.positions import accrual
from gateway.risk import service
from gateway.risk.eligibility import from_wire
from gateway.risk.exposure import RepoValue
from gateway.risk.fx import Conversion, Route, in_cash
from gateway.risk.fx_inputs import FxReader, Priced
from gateway.risk.models import MarginAgreement
from gateway.risk.stress import Collateral, PairTerms, Role, StressRepo
from gateway.settlement_records.models import RepoRecord
from gateway.trading.models import Instrument

LIVE = (RepoStatus.OPEN.value, RepoStatus.MARGIN_CALLED.value)
MAX_REPOS = 20_000


@dataclass(frozen=True)
class Book:
    repos: list[StressRepo]
    unpriced: int  # live repos left out: the oracle's price is missing or stale


def book(session: Session, organization_id: uuid.UUID, now: int, oracle: Oracle | None = None) -> Book:
    """``oracle`` (the typed binding) lets collateral quoted in another currency than the repo's cash be valued as
    the engine does (through the FX pair, FX haircut added); without it such repos count as unpriced."""
    rows = session.scalars(
        select(RepoRecord)
        .where(
            or_(RepoRecord.holder_org_id == organization_id, RepoRecord.seller_org_id == organization_id),
            RepoRecord.status.in_(LIVE),
            RepoRecord.seller_org_id.is_not(None),
            RepoRecord.holder_org_id.is_not(None),
        )
        .order_by(RepoRecord.repo_id)
        .limit(MAX_REPOS)
    ).all()
    fx = FxReader(session, oracle, now)
    prices: dict[tuple[str, str], Priced] = {}
    instruments: dict[str, Instrument | None] = {}
    out: list[StressRepo] = []
    unpriced = 0
    for r in rows:
        pair = (r.collateral_token.lower(), r.cash_token.lower())
        if pair not in prices:
            prices[pair] = fx.collateral(pair[0], pair[1])
        for token in pair:
            if token not in instruments:
                instruments[token] = session.get(Instrument, token)
        priced = prices[pair]
        price = priced.price
        if price is None or (priced.currency is not None and priced.fx_rate is None):
            unpriced += 1
            continue
        route = None if priced.fx_rate is None else Route(priced.fx_rate, priced.fx_haircut_bps)
        assert r.holder_org_id is not None and r.seller_org_id is not None  # the query's conditions
        lender = r.holder_org_id == organization_id
        rp = accrual.repurchase_price(
            purchase_price=int(r.purchase_price),
            rate=int(r.rate),
            basis=r.day_count_basis,
            period_start=r.period_start,
            maturity=r.maturity,
            crystallized_pd=int(r.crystallized_pd),
            at=now,
        )
        bond, cash = instruments[pair[0]], instruments[pair[1]]
        out.append(
            StressRepo(
                value=in_cash(
                    RepoValue(
                        repo_id=r.repo_id,
                        lender=str(r.holder_org_id),
                        borrower=str(r.seller_org_id),
                        repurchase_price=rp,
                        collateral_amount=int(r.collateral_amount),
                        price=price,
                        haircut_bps=r.haircut_bps,
                        cash_margin=int(r.cash_margin),
                    ),
                    route,
                ),  # cross-currency: the market value in the cash at price 1, FX haircut added
                role=Role.LENDER if lender else Role.BORROWER,
                counterparty=str(r.seller_org_id if lender else r.holder_org_id),
                cash_token=pair[1],
                cash_currency=cash.currency if cash is not None else None,
                collateral=Collateral(
                    address=pair[0],
                    isin=bond.isin if bond is not None else None,
                    currency=bond.currency if bond is not None else None,
                    maturity=bond.maturity if bond is not None else None,
                ),
            )
        )
    return Book(out, unpriced)


def agreements(
    session: Session, organization_id: uuid.UUID, cash_tokens: set[str], now: int, oracle: Oracle | None = None
) -> dict[str, PairTerms]:
    """The member's effective agreement with each counterparty, by the counterparty's id, with the fresh FX rate
    of each of ``cash_tokens`` (lower case) into its base currency (a stale or unread rate is left out)."""
    rows = service.listed(session, organization_id=organization_id, status="effective")
    fx = FxReader(session, oracle, now)
    out: dict[str, PairTerms] = {}
    for row in rows:
        other = str(row.member_b if row.member_a == organization_id else row.member_a)
        if other not in out:
            out[other] = _terms(session, row, fx, cash_tokens)
    return out


def _terms(session: Session, row: MarginAgreement, fx: FxReader, cash_tokens: set[str]) -> PairTerms:
    base = row.base_currency.lower()
    rates: dict[str, Conversion] = {}
    for token in sorted(cash_tokens - {base}):
        found = fx.rate(token, base)
        if found.rate is not None:
            rates[token] = Conversion(found.rate, found.haircut_bps)
    instrument = session.get(Instrument, base)
    return PairTerms(
        agreement_id=str(row.id),
        terms=service.terms(row),
        base_currency=base,
        eligible=from_wire(row.eligible or []),
        base_iso=instrument.currency if instrument is not None else None,
        rates=rates,
    )


def decimals(session: Session, tokens: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for token in tokens:
        row = session.get(Instrument, token)
        out[token] = row.decimals if row is not None else 0
    return out
