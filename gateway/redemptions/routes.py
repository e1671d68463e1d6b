"""/v1/redemptions (a member asks) and /v1/operator/redemptions (the issuer executes by id).

A member's trader (fresh step-up) asks to redeem cash from one of its wallets: for a custodial wallet the custody
door records that person's consent to exactly one transaction — the wallet's allowance of ``amount`` to the issuer.
The operator then executes the request: the wallet's approval (signed by the door with that consent) and the
issuer's burn, as one settlement the member sees. The operator cannot redeem anything a member did not ask for.
A self-held wallet gives the issuer its allowance itself; the execution then only burns.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Annotated

from eth_utils.address import to_checksum_address
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.addresses import Address
from gateway.api.deps import ContextDep, PageQuery, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead
from gateway.custody import door
from gateway.custody.kyc import verified_before_writing
from gateway.db import audit_log, pages
from gateway.db.models import Wallet, WalletKind
from gateway.exceptions import InvalidRequest, NotFound
from gateway.redemptions.models import Redemption, RedemptionStatus
from gateway.settlement.hub import HubDep
from gateway.settlement.market import Market
from gateway.settlement.schemas import SettlementPublic
from gateway.settlement.views import settlement_public
from gateway.settlement_records.models import Settlement
from gateway.settlement_records.steps import StepSpec, enqueue
from gateway.trading import money
from gateway.trading.deps import OperatorAdmin, TraderStepUp
from gateway.trading.exceptions import InvalidState
from gateway.trading.models import Instrument, InstrumentKind

router = APIRouter(tags=["redemptions"], responses=problem_responses(401, 403, 404, 409, 422, 429))


class RedemptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    wallet_id: uuid.UUID
    token: Address
    amount: str = Field(pattern=r"^[0-9]{1,40}(\.[0-9]{1,18})?$", description="in whole units of the token")


class RedemptionPublic(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    wallet: Address
    token: Address
    amount: str
    status: str
    requested_by: uuid.UUID
    executed_by: uuid.UUID | None
    settlement: SettlementPublic | None
    created_at: datetime


def _public(session: Session, row: Redemption) -> RedemptionPublic:
    wallet = session.get(Wallet, row.wallet_id)
    cash = session.get(Instrument, row.token)
    assert wallet is not None and cash is not None
    settlement = session.get(Settlement, row.settlement_id) if row.settlement_id is not None else None
    return RedemptionPublic(
        id=row.id,
        organization_id=row.organization_id,
        wallet=wallet.address,
        token=row.token,
        amount=money.from_units(int(row.amount), cash.decimals),
        status=row.status,
        requested_by=row.requested_by,
        executed_by=row.executed_by,
        settlement=None if settlement is None else settlement_public(session, settlement),
        created_at=row.created_at,
    )


def _approve_issuer(market: Market, wallet: Wallet, token: str, amount: int) -> StepSpec:
    """The wallet's allowance of exactly ``amount`` to the issuer, whose account burns it."""
    data = market.encode(market.token(token), "approve", market.issuer.address, amount)
    return StepSpec(
        label="approve_issuer",
        to=to_checksum_address(token),
        data=data,
        sender=wallet.address,
        sender_wallet_id=wallet.id,
    )


@router.post("/redemptions", response_model=RedemptionPublic, status_code=201)
def request_redemption(
    body: RedemptionCreate,
    principal: TraderStepUp,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
) -> RedemptionPublic:
    """The member asks the issuer to redeem cash, or a bond from its maturity on, from one of its wallets (its
    consent, recorded by custody). The chain (a bond's maturity, the registry's verdict on the wallet) is asked
    in the read session before the write transaction opens; the database's facts are read again inside it."""
    seen = read.get(Wallet, body.wallet_id)
    if seen is None or seen.organization_id != principal.organization_id:
        raise NotFound("wallet not found")
    listed = read.get(Instrument, body.token.lower())
    if listed is None:
        raise InvalidRequest(f"{body.token} is not a listed instrument")
    if listed.kind == InstrumentKind.BOND.value:  # the issuer's policy: a bond is redeemed from its maturity on
        market = hub.require_market()
        maturity = int(market.token(listed.address).functions.maturity().call())
        if not maturity or market.now() < maturity:
            raise InvalidRequest(f"{listed.symbol} redeems at maturity, not before")
    checked = verified_before_writing(ctx, read, seen) if seen.kind == WalletKind.CUSTODIAL.value else None
    read.rollback()  # end the read snapshot before writing
    wallet = session.get(Wallet, body.wallet_id)
    cash = session.get(Instrument, body.token.lower())
    if wallet is None or wallet.organization_id != principal.organization_id or cash is None:
        raise NotFound("wallet not found")
    amount = money.to_units(body.amount, cash.decimals, field="amount")
    if amount == 0:
        raise InvalidRequest("amount must be positive")
    row = Redemption(
        id=uuid.uuid4(),
        organization_id=principal.organization_id,
        wallet_id=wallet.id,
        token=cash.address,
        amount=str(amount),
        status=RedemptionStatus.REQUESTED.value,
        requested_by=principal.id,
    )
    if wallet.kind == WalletKind.CUSTODIAL.value:
        market = hub.require_market()
        [spec] = door.authorize_steps(
            ctx,
            session,
            person=door.Person.of(principal),
            wallet=wallet,
            specs=[_approve_issuer(market, wallet, cash.address, amount)],
            chain_checked=checked or "",
        )
        row.consent_id = spec.consent_id
    session.add(row)
    audit_log.append(
        session,
        actor=principal.actor,
        action="redemption.requested",
        object_type="redemption",
        object_id=str(row.id),
        change={"wallet": wallet.address, "token": cash.address, "amount": row.amount},
    )
    session.commit()
    return _public(session, row)


class RedemptionsPublic(BaseModel):
    data: list[RedemptionPublic]
    next_cursor: str | None


@router.get("/redemptions", response_model=RedemptionsPublic, status_code=200)
def list_redemptions(principal: ReposRead, session: SessionDep, page: PageQuery) -> RedemptionsPublic:
    """The organization's redemption requests, newest first."""
    query = select(Redemption).where(Redemption.organization_id == principal.organization_id)
    query = pages.keyset(query, page, Redemption.created_at, Redemption.id)
    rows, next_cursor = pages.finish(session.scalars(query).all(), page, lambda r: (r.created_at, r.id))
    return RedemptionsPublic(data=[_public(session, r) for r in rows], next_cursor=next_cursor)


@router.get("/redemptions/{redemption_id}", response_model=RedemptionPublic, status_code=200)
def get_redemption(redemption_id: uuid.UUID, principal: ReposRead, session: SessionDep) -> RedemptionPublic:
    row = session.get(Redemption, redemption_id)
    if row is None or not principal.can_see(row.organization_id):
        raise NotFound("redemption not found")
    return _public(session, row)


@router.get("/operator/redemptions", response_model=RedemptionsPublic, status_code=200)
def pending_redemptions(
    principal: OperatorAdmin,
    session: SessionDep,
    page: PageQuery,
    status: Annotated[str, Query(max_length=16)] = "requested",
) -> RedemptionsPublic:
    """Members' requests for the issuer, newest first (``order=oldest`` for the queue in arrival order)."""
    query = pages.keyset(
        select(Redemption).where(Redemption.status == status), page, Redemption.created_at, Redemption.id
    )
    rows, next_cursor = pages.finish(session.scalars(query).all(), page, lambda r: (r.created_at, r.id))
    return RedemptionsPublic(data=[_public(session, r) for r in rows], next_cursor=next_cursor)


def _requested(session: Session, redemption_id: uuid.UUID) -> Redemption:
    row = session.get(Redemption, redemption_id)
    if row is None:
        raise NotFound("redemption not found")
    if row.status != RedemptionStatus.REQUESTED.value:
        raise InvalidState(f"the redemption is {row.status}")
    return row


@router.post("/operator/redemptions/{redemption_id}/execute", response_model=RedemptionPublic, status_code=202)
def execute_redemption(
    redemption_id: uuid.UUID, principal: OperatorAdmin, session: SessionDep, hub: HubDep
) -> RedemptionPublic:
    """The issuer executes a member's request: the member's consented approval, then the burn (money is paid out
    off chain). One settlement, which the member sees as its own."""
    row = _requested(session, redemption_id)
    market = hub.require_market()
    wallet = session.get(Wallet, row.wallet_id)
    assert wallet is not None
    amount = int(row.amount)
    steps: list[StepSpec] = []
    if wallet.kind == WalletKind.CUSTODIAL.value:
        approve = _approve_issuer(market, wallet, row.token, amount)
        steps.append(dataclasses.replace(approve, consent_id=row.consent_id))
    steps.append(
        StepSpec(
            label="burn",
            to=to_checksum_address(row.token),
            data=market.encode(market.token(row.token), "burnFrom", wallet.address, amount),
            sender=market.issuer.address,
        )
    )
    settlement = enqueue(
        session,
        kind="cash_redeem",
        requested_by=principal.actor,
        steps=steps,
        organization_id=row.organization_id,
    )
    row.status, row.executed_by, row.settlement_id = RedemptionStatus.EXECUTING.value, principal.id, settlement.id
    audit_log.append(
        session,
        actor=principal.actor,
        action="redemption.executed",
        object_type="redemption",
        object_id=str(row.id),
        change={"settlement": str(settlement.id)},
    )
    session.commit()
    hub.notify()
    return _public(session, row)


@router.post("/operator/redemptions/{redemption_id}/decline", response_model=RedemptionPublic, status_code=200)
def decline_redemption(redemption_id: uuid.UUID, principal: OperatorAdmin, session: SessionDep) -> RedemptionPublic:
    row = _requested(session, redemption_id)
    row.status, row.executed_by = RedemptionStatus.DECLINED.value, principal.id
    audit_log.append(
        session,
        actor=principal.actor,
        action="redemption.declined",
        object_type="redemption",
        object_id=str(row.id),
        change={},
    )
    session.commit()
    return _public(session, row)
