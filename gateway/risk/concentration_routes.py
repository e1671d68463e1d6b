"""/v1/risk/concentration: where a member's live book is concentrated, by collateral issuer and by counterparty
(gateway.risk.concentration), valued from the gateway's own index like the stress run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from gateway.addresses import Address
from gateway.api.deps import ContextDep, ReadSessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead
from gateway.risk import concentration, inputs
from gateway.risk.stress import Role
from gateway.settlement.hub import HubDep
from gateway.settlement_records import freshness
from gateway.trading.money import from_units

router = APIRouter(prefix="/risk", tags=["risk"], responses=problem_responses(401, 403, 422, 429))


class BucketPublic(BaseModel):
    key: str  # the issuer (ISIN prefix, or the collateral's address) or the counterparty's organization id
    cash_token: Address
    role: Role  # lender: collateral received, exposure to the counterparty; borrower: collateral given
    repos: int
    collateral_value: str  # decimal, the cash token's units, no haircut
    exposure: str  # decimal; method B; positive: the lender is under-collateralized
    share_bps: int


class ConcentrationPublic(BaseModel):
    as_of_block: int | None
    valued_at: int
    unpriced: int
    issuer_chars: int
    by_issuer: list[BucketPublic]
    by_counterparty: list[BucketPublic]


@router.get("/concentration", response_model=ConcentrationPublic, status_code=200)
def get_concentration(
    principal: ReposRead,
    read: ReadSessionDep,
    hub: HubDep,
    ctx: ContextDep,
    response: Response,
    issuer_chars: Annotated[int, Query(ge=2, le=12)] = concentration.ISSUER_CHARS,
) -> ConcentrationPublic:
    """The member's live repos, both sides: collateral value per issuer (ISIN prefix of ``issuer_chars``) and net
    exposure per counterparty, each per cash token with its share of the token's total in basis points."""
    block = freshness.require_block(read, ctx.read_sessions, None)
    if block is not None:
        response.headers[freshness.HEADER] = str(block)
    now = hub.now() if hub.market is not None else 0
    held = inputs.book(read, principal.organization_id, now, hub.market.oracle_at_head() if hub.market else None)
    decimals = inputs.decimals(read, {r.cash_token for r in held.repos})

    def public(b: concentration.Bucket) -> BucketPublic:
        d = decimals[b.cash_token]
        return BucketPublic(
            key=b.key, cash_token=b.cash_token, role=b.role, repos=b.repos,
            collateral_value=from_units(b.collateral_value, d), exposure=from_units(b.exposure, d),
            share_bps=b.share_bps,
        )  # fmt: skip

    return ConcentrationPublic(
        as_of_block=block,
        valued_at=now,
        unpriced=held.unpriced,
        issuer_chars=issuer_chars,
        by_issuer=[public(b) for b in concentration.by_issuer(held.repos, issuer_chars)],
        by_counterparty=[public(b) for b in concentration.by_counterparty(held.repos)],
    )
