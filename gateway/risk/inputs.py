"""A member's live repos on both sides, valued from the gateway's own index (RP accrued to the chain's now, the
followed oracle price), and its effective agreements: the inputs of a stress run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.chain.bindings.engine import RepoStatus
from gateway.indexer.prices import indexed_price
from gateway.positions import accrual
from gateway.risk import service
from gateway.risk.exposure import RepoValue
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


def book(session: Session, organization_id: uuid.UUID, now: int) -> Book:
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
    prices: dict[tuple[str, str], int | None] = {}
    instruments: dict[str, Instrument | None] = {}
    out: list[StressRepo] = []
    unpriced = 0
    for r in rows:
        pair = (r.collateral_token.lower(), r.cash_token.lower())
        if pair not in prices:
            prices[pair] = indexed_price(session, pair[0], pair[1], now) if now else None
        for token in pair:
            if token not in instruments:
                instruments[token] = session.get(Instrument, token)
        price = prices[pair]
        if price is None:
            unpriced += 1
            continue
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
                value=RepoValue(
                    repo_id=r.repo_id,
                    lender=str(r.holder_org_id),
                    borrower=str(r.seller_org_id),
                    repurchase_price=rp,
                    collateral_amount=int(r.collateral_amount),
                    price=price,
                    haircut_bps=r.haircut_bps,
                    cash_margin=int(r.cash_margin),
                ),
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


def agreements(session: Session, organization_id: uuid.UUID) -> dict[str, PairTerms]:
    """The member's effective agreement with each counterparty, by the counterparty's id."""
    rows = service.listed(session, organization_id=organization_id, status="effective")
    out: dict[str, PairTerms] = {}
    for row in rows:
        other = row.member_b if row.member_a == organization_id else row.member_a
        out.setdefault(str(other), _terms(row))
    return out


def _terms(row: MarginAgreement) -> PairTerms:
    return PairTerms(agreement_id=str(row.id), terms=service.terms(row), base_currency=row.base_currency.lower())


def decimals(session: Session, tokens: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for token in tokens:
        row = session.get(Instrument, token)
        out[token] = row.decimals if row is not None else 0
    return out
