"""/v1/operator/prices: bond prices in one unit — percent of par — with guard rails.

A price is posted at once when it moves at most the instrument's bound (``max_price_move_bps``, else the gateway's
``price_max_move_bps``) from the last price posted, or, for a first price, when it lies in the band
(``price_band_*_percent_of_par``). A larger move waits for a second operator person to confirm it. Staleness is
the oracle's: a price older than its maximum age is refused on chain until a fresh one is posted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from eth_utils.address import to_checksum_address
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.addresses import Address
from gateway.api.deps import ContextDep, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.chain.bindings.oracle import Oracle
from gateway.chain.outage import is_outage
from gateway.context import GatewayContext
from gateway.db import audit_log
from gateway.exceptions import ChainUnavailable, FourEyesViolation, InvalidRequest, NotFound, WriteTransactionOpen
from gateway.operator.models import PricePosting, PriceStatus
from gateway.settlement.hub import Hub, HubDep
from gateway.settlement.schemas import SettlementPublic
from gateway.settlement.views import settlement_public
from gateway.settlement_records.steps import StepSpec, enqueue
from gateway.trading.deps import OperatorAdmin
from gateway.trading.exceptions import InvalidState
from gateway.trading.models import Instrument, InstrumentKind

router = APIRouter(tags=["operator"], responses=problem_responses(401, 403, 404, 409, 422, 429))
PRICE_SCALE = 10**18
PERCENT = r"^[0-9]{1,6}(\.[0-9]{1,8})?$"


class PriceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset: Address
    quote: Address
    price_percent_of_par: str = Field(pattern=PERCENT, description="the bond's price in percent of par, e.g. 98.75")


class PriceBounds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instrument: Address
    max_price_move_bps: int | None = Field(ge=1, le=100_000, description="None: the gateway's default")


class PricePublic(BaseModel):
    id: uuid.UUID
    asset: Address
    quote: Address
    price_percent_of_par: str
    previous_percent_of_par: str | None
    move_bps: int | None
    status: str
    proposed_by: uuid.UUID
    confirmed_by: uuid.UUID | None
    settlement: SettlementPublic | None
    created_at: datetime


def listed(session: Session, address: str, kind: InstrumentKind) -> Instrument:
    """The listed instrument of that kind at ``address`` (else 404)."""
    row = session.get(Instrument, address.lower())
    if row is None or row.kind != kind.value:
        raise NotFound(f"{address} is not a listed {kind.value} instrument")
    return row


def to_raw(percent: Decimal, bond: Instrument, cash: Instrument) -> int:
    """Percent of par as the oracle's ratio: cash smallest units per bond smallest unit, scaled by 10^18."""
    scaled = percent * 10**cash.decimals * PRICE_SCALE / (100 * Decimal(10) ** bond.decimals)
    if scaled != scaled.to_integral_value() or scaled <= 0:
        raise InvalidRequest("price_percent_of_par: not a positive price the oracle can hold exactly")
    return int(scaled)


def from_raw(raw: int, bond: Instrument, cash: Instrument) -> Decimal:
    return (
        Decimal(raw) * 100 * Decimal(10) ** bond.decimals / (Decimal(10) ** cash.decimals * PRICE_SCALE)
    ).normalize()


def _last_posted(session: Session, bond: Instrument, cash: Instrument) -> Decimal | None:
    """The last price the gateway posted for the pair (None: none yet)."""
    last = session.scalars(
        select(PricePosting)
        .where(
            PricePosting.asset == bond.address,
            PricePosting.quote == cash.address,
            PricePosting.status == PriceStatus.POSTED.value,
        )
        .order_by(PricePosting.created_at.desc())
    ).first()
    return None if last is None else Decimal(last.price_percent_of_par)


def _oracle_price(hub: Hub, bond: Instrument, cash: Instrument) -> Decimal | None:
    """The oracle's current price for the pair (None: no price yet, or stale). A chain read: never called while a
    database write transaction is open."""
    market = hub.market
    if market is None:
        return None
    try:
        raw = Oracle(market.oracle).price(to_checksum_address(bond.address), to_checksum_address(cash.address)).price
    except WriteTransactionOpen:
        raise
    except Exception as exc:  # missing or stale: nothing to compare with; out of reach: no posting unbounded
        if is_outage(exc):
            raise ChainUnavailable(f"the oracle's current price could not be read: {exc}") from exc
        return None
    return from_raw(int(raw), bond, cash)


def _previous(session: Session, hub: Hub, bond: Instrument, cash: Instrument) -> Decimal | None:
    """The last price the gateway posted for the pair, else the oracle's. ``session`` is a read session: the oracle
    is read outside any write transaction."""
    last = _last_posted(session, bond, cash)
    return last if last is not None else _oracle_price(hub, bond, cash)


def _public(session: Session, row: PricePosting) -> PricePublic:
    from gateway.settlement_records.models import Settlement

    settlement = session.get(Settlement, row.settlement_id) if row.settlement_id is not None else None
    return PricePublic(
        id=row.id,
        asset=row.asset,
        quote=row.quote,
        price_percent_of_par=row.price_percent_of_par,
        previous_percent_of_par=row.previous_percent_of_par,
        move_bps=row.move_bps,
        status=row.status,
        proposed_by=row.proposed_by,
        confirmed_by=row.confirmed_by,
        settlement=None if settlement is None else settlement_public(session, settlement),
        created_at=row.created_at,
    )


def _post(session: Session, hub: Hub, row: PricePosting, actor: str) -> None:
    """Queue the oracle update from the oracle feeder's account."""
    market = hub.require_market()
    bond, cash = (
        listed(session, row.asset, InstrumentKind.BOND),
        listed(session, row.quote, InstrumentKind.CASH),
    )
    raw = to_raw(Decimal(row.price_percent_of_par), bond, cash)
    data = market.encode(
        market.oracle, "setPrice", to_checksum_address(bond.address), to_checksum_address(cash.address), raw
    )
    settlement = enqueue(
        session,
        kind="price",
        requested_by=actor,
        steps=[StepSpec(label="price", to=market.oracle.address, data=data, sender=market.feeder.address)],
    )
    row.status, row.settlement_id = PriceStatus.POSTED.value, settlement.id


@router.post("/operator/prices", response_model=PricePublic, status_code=202)
def post_price(
    body: PriceCreate,
    principal: OperatorAdmin,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
) -> PricePublic:
    """Post a bond's price in percent of par; a move beyond the instrument's bound waits for a second person. The
    oracle's price is read in the read session, before the write transaction opens."""
    return propose_price(
        body, proposer=principal.id, actor=principal.actor, ctx=ctx, read=read, session=session, hub=hub
    )


def propose_price(
    body: PriceCreate,
    *,
    proposer: uuid.UUID,
    actor: str,
    ctx: GatewayContext,
    read: Session,
    session: Session,
    hub: Hub,
    fence: Callable[[Session], None] | None = None,
) -> PricePublic:
    """The price route's work, for a person (``proposer`` is that person) or the operator's price feed (its key's
    owner): posted at once within the bound, else awaiting a second operator person. ``fence``: checked first
    inside the write transaction (the feed's lease, locked until the write commits)."""
    bond = listed(read, body.asset, InstrumentKind.BOND)
    cash = listed(read, body.quote, InstrumentKind.CASH)
    try:
        price = Decimal(body.price_percent_of_par)
    except InvalidOperation:
        raise InvalidRequest("price_percent_of_par: a decimal number") from None
    to_raw(price, bond, cash)  # exact and positive, or refused before anything is stored
    hub.require_market()
    on_chain = _previous(read, hub, bond, cash)
    read.rollback()  # end the read snapshot before writing
    if fence is not None:
        fence(session)
    bond = listed(session, body.asset, InstrumentKind.BOND)  # the bound as it stands when writing
    cash = listed(session, body.quote, InstrumentKind.CASH)
    posted = _last_posted(session, bond, cash)  # a posting made since the read wins over the oracle's price
    previous = posted if posted is not None else on_chain
    settings = ctx.settings
    if previous is None or previous == 0:
        move = None
        within = settings.price_band_min_percent_of_par <= price <= settings.price_band_max_percent_of_par
    else:
        move = int((abs(price - previous) * 10_000 / previous).to_integral_value())
        within = move <= (bond.max_price_move_bps or settings.price_max_move_bps)
    row = PricePosting(
        id=uuid.uuid4(),
        asset=bond.address,
        quote=cash.address,
        price_percent_of_par=format(price.normalize(), "f"),
        previous_percent_of_par=None if previous is None else format(previous, "f"),
        move_bps=move,
        status=PriceStatus.AWAITING_CONFIRMATION.value,
        proposed_by=proposer,
    )
    session.add(row)
    if within:
        _post(session, hub, row, actor)
    audit_log.append(
        session,
        actor=actor,
        action="operator.price_proposed",
        object_type="price",
        object_id=str(row.id),
        change={
            "asset": bond.address,
            "percent_of_par": row.price_percent_of_par,
            "move_bps": move,
            "status": row.status,
        },
    )
    session.commit()
    hub.notify()
    return _public(session, row)


def _load(session: Session, price_id: uuid.UUID) -> PricePosting:
    row = session.get(PricePosting, price_id)
    if row is None:
        raise NotFound("price posting not found")
    return row


@router.get("/operator/prices/{price_id}", response_model=PricePublic, status_code=200)
def get_price(price_id: uuid.UUID, principal: OperatorAdmin, session: SessionDep) -> PricePublic:
    return _public(session, _load(session, price_id))


@router.post("/operator/prices/{price_id}/confirm", response_model=PricePublic, status_code=202)
def confirm_price(price_id: uuid.UUID, principal: OperatorAdmin, session: SessionDep, hub: HubDep) -> PricePublic:
    """A second operator person confirms a larger move; then it is posted."""
    row = _load(session, price_id)
    if row.status != PriceStatus.AWAITING_CONFIRMATION.value:
        raise InvalidState(f"the price posting is {row.status}")
    if row.proposed_by == principal.id:
        raise FourEyesViolation("a larger price move is confirmed by another operator person")
    row.confirmed_by = principal.id
    _post(session, hub, row, principal.actor)
    audit_log.append(
        session,
        actor=principal.actor,
        action="operator.price_confirmed",
        object_type="price",
        object_id=str(row.id),
        change={"percent_of_par": row.price_percent_of_par, "move_bps": row.move_bps},
    )
    session.commit()
    hub.notify()
    return _public(session, row)


class PriceBoundsPublic(BaseModel):
    instrument: Address
    max_price_move_bps: int | None  # None: the gateway's default bound


@router.post("/operator/price-bounds", response_model=PriceBoundsPublic, status_code=200)
def set_price_bounds(body: PriceBounds, principal: OperatorAdmin, session: SessionDep) -> PriceBoundsPublic:
    """Set a bond's bound on each price move (basis points of the last price); None returns to the default."""
    bond = listed(session, body.instrument, InstrumentKind.BOND)
    bond.max_price_move_bps = body.max_price_move_bps
    audit_log.append(
        session,
        actor=principal.actor,
        action="operator.price_bounds_set",
        object_type="instrument",
        object_id=bond.address,
        change={"max_price_move_bps": body.max_price_move_bps},
    )
    session.commit()
    return PriceBoundsPublic(instrument=bond.address, max_price_move_bps=body.max_price_move_bps)
