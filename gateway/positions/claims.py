"""/v1/claims: what the engine owes the organization, and what it is owed, off the repos' normal flow.

- ``claims``: the engine's claim ledger — payments the engine could not deliver to one of the organization's wallets
  (frozen, KYC lapsed, token paused), or cash of a seller that still owes close-out shortfalls beyond what one
  payment collects, held until the wallet collects them (``RepoEngine.claim``, which pays those shortfalls first) or
  a court order moves them;
- ``shortfalls``: unpaid close-out shortfalls of its repos, as creditor (holder) or debtor (seller), collected from
  the seller's next cash reaching the engine or settled off chain by both parties.

Both from the indexer's tables (no chain call per request)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import or_, select

from gateway.addresses import Address
from gateway.api.deps import ContextDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead
from gateway.db.models import Wallet
from gateway.indexer.models import EngineClaim
from gateway.settlement_records import freshness
from gateway.settlement_records.models import RepoRecord
from gateway.trading import money
from gateway.trading.models import Instrument

router = APIRouter(tags=["positions"], responses=problem_responses(401, 403, 409, 422, 429))


class ClaimPublic(BaseModel):
    wallet: Address = Field(description="the organization's wallet the engine owes")
    token: Address
    symbol: str | None = Field(description="the token's symbol when listed")
    amount: str = Field(description="in the token's units (smallest units when the token is not listed)")
    updated_block: int


class ShortfallPublic(BaseModel):
    repo_id: int
    role: str = Field(description="creditor (the holder at close-out) or debtor (the seller)")
    creditor: Address
    seller: Address
    cash_token: Address
    remaining: str = Field(description="unpaid, in the repo's cash token")
    updated_block: int


class ClaimsPublic(BaseModel):
    """Open claims and shortfalls of the organization, on one page."""

    claims: list[ClaimPublic]
    shortfalls: list[ShortfallPublic]
    as_of_block: int | None


def _amount(instrument: Instrument | None, units: int) -> str:
    return str(units) if instrument is None else money.from_units(units, instrument.decimals)


@router.get("/claims", response_model=ClaimsPublic, status_code=200)
def list_claims(principal: ReposRead, session: SessionDep, ctx: ContextDep, response: Response) -> ClaimsPublic:
    """The engine's claims held for the organization's wallets, and its repos' unpaid close-out shortfalls."""
    block = freshness.require_block(session, ctx.read_sessions, None)
    if block is not None:
        response.headers[freshness.HEADER] = str(block)
    org = principal.organization_id
    wallets = list(session.scalars(select(Wallet.address).where(Wallet.organization_id == org)))
    rows = (
        session.scalars(select(EngineClaim).where(EngineClaim.party.in_(wallets)).order_by(EngineClaim.token)).all()
        if wallets
        else []
    )
    claims = []
    for row in rows:
        inst = session.get(Instrument, row.token)
        claims.append(
            ClaimPublic(
                wallet=row.party,
                token=row.token,
                symbol=None if inst is None else inst.symbol,
                amount=_amount(inst, int(row.amount)),
                updated_block=row.updated_block,
            )
        )
    repos = session.scalars(
        select(RepoRecord)
        .where(
            RepoRecord.shortfall != "0",
            or_(RepoRecord.seller_org_id == org, RepoRecord.holder_org_id == org),
        )
        .order_by(RepoRecord.repo_id)
    ).all()
    shortfalls = [
        ShortfallPublic(
            repo_id=r.repo_id,
            role="creditor" if r.holder_org_id == org else "debtor",
            creditor=r.holder,
            seller=r.seller,
            cash_token=r.cash_token,
            remaining=_amount(session.get(Instrument, r.cash_token.lower()), int(r.shortfall)),
            updated_block=r.updated_block,
        )
        for r in repos
    ]
    return ClaimsPublic(claims=claims, shortfalls=shortfalls, as_of_block=block)
