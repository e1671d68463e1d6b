"""/v1/instruments (everyone) and /v1/operator/... (operator administrators with a fresh step-up code).

Chain steps go through the relayer from the operator account, which holds the issuer, feeder and pauser roles.
The operator never sends from a member's wallet: redemption is a member's request (``gateway.redemptions``), and
prices have their own guard rails (``gateway.operator.prices``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eth_utils.address import to_checksum_address
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from web3.exceptions import BadFunctionCallOutput, ContractLogicError

from gateway.api.deps import PageQuery, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import MarketRead
from gateway.audit import log as audit_log
from gateway.db import pages
from gateway.exceptions import InvalidRequest, NotAToken, NotFound
from gateway.settlement.hub import HubDep
from gateway.settlement.relayer import StepSpec, enqueue
from gateway.settlement.routes import settlement_public
from gateway.settlement.schemas import SettlementPublic
from gateway.trading import money
from gateway.trading.deps import OperatorAdmin
from gateway.trading.models import Instrument, InstrumentKind

router = APIRouter(tags=["operator"], responses=problem_responses(401, 403, 404, 409, 422, 429))
Addr = Field(pattern=r"^0x[0-9a-fA-F]{40}$")


class InstrumentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Addr
    kind: InstrumentKind


class InstrumentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    address: str
    kind: str
    symbol: str
    name: str
    decimals: int
    currency: str | None
    isin: str | None
    created_at: datetime


class CashMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Addr
    wallet: str = Addr
    amount: str = Field(pattern=r"^[0-9]{1,40}(\.[0-9]{1,18})?$")


class PauseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str = Field(description="'engine' or a token address")


class InstrumentsPublic(BaseModel):
    data: list[InstrumentPublic]
    next_cursor: str | None


@router.get("/instruments", response_model=InstrumentsPublic, status_code=200)
def list_instruments(principal: MarketRead, session: SessionDep, page: PageQuery) -> InstrumentsPublic:
    """Listed tokens, newest listing first."""
    query = pages.keyset(select(Instrument), page, Instrument.created_at, Instrument.address)
    rows, next_cursor = pages.finish(session.scalars(query).all(), page, lambda i: (i.created_at, i.address))
    return InstrumentsPublic(data=[InstrumentPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


def _token_facts(token: Any, address: str) -> tuple[str, str, int]:
    """Symbol, name and decimals as the token answers them; an address that cannot answer them (no code, another
    kind of contract, a revert) is the caller's mistake (422). A node out of reach stays an outage (503)."""
    try:
        return (
            str(token.functions.symbol().call()),
            str(token.functions.name().call()),
            int(token.functions.decimals().call()),
        )
    except (BadFunctionCallOutput, ContractLogicError) as exc:
        raise NotAToken(
            f"{address} is not an ERC-20 token: symbol(), name() and decimals() did not answer ({exc})"
        ) from None


@router.post("/operator/instruments", response_model=InstrumentPublic, status_code=201)
def list_instrument(body: InstrumentCreate, principal: OperatorAdmin, session: SessionDep, hub: HubDep) -> Instrument:
    """List a deployed cash token or bond for trading (symbol, name and decimals are read from the chain)."""
    market = hub.require_market()
    if session.get(Instrument, body.address.lower()) is not None:
        raise InvalidRequest("already listed")
    symbol, name, decimals = _token_facts(market.token(body.address), body.address)
    row = Instrument(address=body.address.lower(), kind=body.kind.value, symbol=symbol, name=name, decimals=decimals)
    session.add(row)
    audit_log.append(
        session,
        actor=principal.actor,
        action="instrument.listed",
        object_type="instrument",
        object_id=row.address,
        change={"kind": row.kind, "symbol": row.symbol},
    )
    session.commit()
    return row


def _relay(session: SessionDep, hub: HubDep, actor: str, kind: str, to: str, data: str) -> SettlementPublic:
    market = hub.require_market()
    settlement = enqueue(
        session,
        kind=kind,
        requested_by=actor,
        steps=[StepSpec(label=kind, to=to, data=data, sender=market.relayer.address)],
    )
    audit_log.append(
        session,
        actor=actor,
        action=f"operator.{kind}",
        object_type="settlement",
        object_id=str(settlement.id),
        change={"to": to},
    )
    session.commit()
    hub.notify()
    return settlement_public(session, settlement)


def _instrument(session: SessionDep, address: str) -> Instrument:
    row = session.get(Instrument, address.lower())
    if row is None:
        raise NotFound("instrument not listed")
    return row


@router.post("/operator/cash/issue", response_model=SettlementPublic, status_code=202)
def issue_cash(body: CashMove, principal: OperatorAdmin, session: SessionDep, hub: HubDep) -> SettlementPublic:
    """Mint tokenized cash to a verified wallet against money received off chain."""
    inst = _instrument(session, body.token)
    amount = money.to_units(body.amount, inst.decimals, field="amount")
    market = hub.require_market()
    data = market.encode(market.token(inst.address), "mint", to_checksum_address(body.wallet), amount)
    return _relay(session, hub, principal.actor, "cash_issue", to_checksum_address(inst.address), data)


@router.post("/operator/pause", response_model=SettlementPublic, status_code=202)
def pause(body: PauseBody, principal: OperatorAdmin, session: SessionDep, hub: HubDep) -> SettlementPublic:
    return _pause(body, principal.actor, session, hub, "pause")


@router.post("/operator/unpause", response_model=SettlementPublic, status_code=202)
def unpause(body: PauseBody, principal: OperatorAdmin, session: SessionDep, hub: HubDep) -> SettlementPublic:
    return _pause(body, principal.actor, session, hub, "unpause")


def _pause(body: PauseBody, actor: str, session: SessionDep, hub: HubDep, fn: str) -> SettlementPublic:
    market = hub.require_market()
    if body.target == "engine":
        contract = market.engine
    else:
        contract = market.token(_instrument(session, body.target).address)
    return _relay(session, hub, actor, fn, contract.address, market.encode(contract, fn))
