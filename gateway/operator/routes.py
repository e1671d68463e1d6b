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

from contracts.artifacts import load_artifact
from gateway.addresses import Address
from gateway.api.deps import ContextDep, PageQuery, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import MarketRead
from gateway.chain.bindings.oracle import Oracle
from gateway.chain.bindings.tokens import Token
from gateway.db import audit_log, pages
from gateway.exceptions import InvalidRequest, NotAToken, NotFound, NotListedInEngine
from gateway.settlement.hub import HubDep
from gateway.settlement.schemas import SettlementPublic
from gateway.settlement.views import settlement_public
from gateway.settlement_records.steps import StepSpec, enqueue
from gateway.trading import money
from gateway.trading.deps import OperatorAdmin
from gateway.trading.maturity import read_maturity
from gateway.trading.models import Instrument, InstrumentKind

router = APIRouter(tags=["operator"], responses=problem_responses(401, 403, 404, 409, 422, 429))


class InstrumentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: Address
    kind: InstrumentKind


class InstrumentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    address: Address = Field(description="the token contract's address")
    kind: str
    symbol: str
    name: str
    decimals: int = Field(description="amounts in the API are decimal strings with at most this many decimals")
    currency: str | None = Field(description="ISO 4217 code of a cash token (None for a bond)")
    isin: str | None = Field(description="ISIN of a bond (None for a cash token)")
    created_at: datetime


class NetworkPublic(BaseModel):
    """Where things are on chain: what a self-held wallet needs (the engine is the spender its ``approve`` names)
    and what a developer reading the chain directly needs."""

    chain_id: int
    repo_engine: Address | None = Field(description="the settlement contract: approve it to deliver cash or collateral")
    repo_position: str | None = Field(description="the ERC-721 position of each repo (held by the cash lender)")
    price_oracle: Address | None
    identity_registry: Address | None
    audit_anchor: Address | None
    relayer: Address | None = Field(description="the account that sends opens and operator steps")
    indexed_block: int | None = Field(description="the last block whose engine events the gateway applied")


class BondIssue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Address
    wallet: Address
    amount: str = Field(pattern=r"^[0-9]{1,40}(\.[0-9]{1,18})?$", description="nominal, in the bond's units")


class CashMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Address
    wallet: Address
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
        facts = Token(token).metadata()
        return (facts.symbol, facts.name, facts.decimals)
    except (BadFunctionCallOutput, ContractLogicError) as exc:
        raise NotAToken(
            f"{address} is not an ERC-20 token: symbol(), name() and decimals() did not answer ({exc})"
        ) from None


def _token_call(market: Any, address: str, artifact: str, function: str) -> str | None:
    """A string view of one of our token contracts; None where the token has no such function or it reverts."""
    token = market.w3.eth.contract(address=to_checksum_address(address), abi=load_artifact(artifact).abi)
    try:
        return str(getattr(token.functions, function)().call()) or None
    except (BadFunctionCallOutput, ContractLogicError):
        return None


def _label(market: Any, address: str, kind: InstrumentKind) -> tuple[str | None, str | None]:
    """(currency, ISIN). The currency is the one the oracle names for the token — a listed cash token's own, the one
    a bond is priced in — so that a repo in another currency is known to be cross-currency (the engine values it
    through the oracle's FX pair); where the oracle names none, a cash token's own ``currency()``. The ISIN is a
    bond's ``isin()``."""
    named = None
    try:
        named = Oracle(market.oracle).currency_of(to_checksum_address(address))
    except (BadFunctionCallOutput, ContractLogicError):
        pass
    if named is not None and int(named, 16) != 0:
        currency = _token_call(market, named, "CashToken", "currency")
    elif kind == InstrumentKind.CASH:
        currency = _token_call(market, address, "CashToken", "currency")
    else:
        currency = None
    isin = _token_call(market, address, "BondToken", "isin") if kind == InstrumentKind.BOND else None
    return (currency[:3] if currency else None), (isin[:12] if isin else None)


@router.post("/operator/instruments", response_model=InstrumentPublic, status_code=201)
def list_instrument(body: InstrumentCreate, principal: OperatorAdmin, session: SessionDep, hub: HubDep) -> Instrument:
    """List a deployed cash token or bond for trading (symbol, name and decimals are read from the chain)."""
    market = hub.require_market()
    if session.get(Instrument, body.address.lower()) is not None:
        raise InvalidRequest("already listed")
    session.commit()  # ends the read: the token is asked with no database lock held
    symbol, name, decimals = _token_facts(market.token(body.address), body.address)
    if market.view(market.engine, "tokenIndexOf")(to_checksum_address(body.address)) == 0:
        raise NotListedInEngine(
            f"{body.address} is not in the repo engine's token table, so no repo could name it: the admins list it "
            "first (reponet governance propose list-token ADDRESS)"
        )
    currency, isin = _label(market, body.address, body.kind)
    # a bond's maturity never changes: kept on the row, so no route asks the chain for it inside a transaction
    matures = read_maturity(market, body.address) if body.kind == InstrumentKind.BOND else None
    if session.get(Instrument, body.address.lower()) is not None:  # listed meanwhile
        raise InvalidRequest("already listed")
    row = Instrument(
        address=body.address.lower(),
        kind=body.kind.value,
        symbol=symbol,
        name=name,
        decimals=decimals,
        currency=currency,
        isin=isin,
        maturity=matures,
    )
    session.add(row)
    audit_log.append(
        session,
        actor=principal.actor,
        action="instrument.listed",
        object_type="instrument",
        object_id=row.address,
        change={"kind": row.kind, "symbol": row.symbol, "currency": row.currency},
    )
    session.commit()
    return row


def _relay(
    session: SessionDep, hub: HubDep, actor: str, kind: str, to: str, data: str, *, issuer: bool = False
) -> SettlementPublic:
    """Queue an operator step: from the issuer's account (``issuer``), else the relayer's (pauses)."""
    market = hub.require_market()
    sender = market.issuer if issuer else market.relayer
    settlement = enqueue(
        session,
        kind=kind,
        requested_by=actor,
        steps=[StepSpec(label=kind, to=to, data=data, sender=sender.address)],
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
    return _relay(session, hub, principal.actor, "cash_issue", to_checksum_address(inst.address), data, issuer=True)


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


@router.get("/network", response_model=NetworkPublic, status_code=200)
def network(principal: MarketRead, session: SessionDep, hub: HubDep, ctx: ContextDep) -> NetworkPublic:
    """The chain and the contracts the gateway settles on."""
    from gateway.settlement_records import freshness

    market = hub.market
    return NetworkPublic(
        chain_id=hub.chain_id,
        repo_engine=None if hub.engine is None else to_checksum_address(hub.engine),
        repo_position=None if market is None else to_checksum_address(market.position.address),
        price_oracle=None if market is None else to_checksum_address(market.oracle.address),
        identity_registry=ctx.settings.identity_registry_address,
        audit_anchor=ctx.settings.audit_anchor_address,
        relayer=None if market is None else market.relayer.address,
        indexed_block=freshness.indexed_block(session),
    )


@router.post("/operator/bonds/issue", response_model=SettlementPublic, status_code=202)
def issue_bond(
    body: BondIssue, principal: OperatorAdmin, read: ReadSessionDep, session: SessionDep, hub: HubDep
) -> SettlementPublic:
    """The issuer mints a listed bond to a KYC-verified wallet (the token refuses an unverified one). The issuer's
    policy: a positive nominal, and no issuance at or after the bond's maturity. Bonds are redeemed as cash is,
    by the holder's request (POST /v1/redemptions, from maturity on) that the issuer executes. The chain (the
    bond's maturity, its clock) is asked in the read session, before the write transaction opens."""
    seen = _instrument(read, body.token)
    if seen.kind != InstrumentKind.BOND.value:
        raise InvalidRequest(f"{body.token} is not a listed bond (cash is issued with /v1/operator/cash/issue)")
    amount = money.to_units(body.amount, seen.decimals, field="amount")
    if amount <= 0:
        raise InvalidRequest("the nominal must be positive")
    market = hub.require_market()
    token = market.token(seen.address)
    maturity = Token(token).maturity()
    if maturity and market.now() >= maturity:
        raise InvalidRequest("the bond has matured: the issuer's policy allows no new issuance")
    read.rollback()  # end the read snapshot before writing
    inst = _instrument(session, body.token)  # still listed (an instrument's address and kind never change)
    data = market.encode(token, "mint", to_checksum_address(body.wallet), amount)
    return _relay(session, hub, principal.actor, "bond_issue", to_checksum_address(inst.address), data)
