"""/v1/risk/price-entries: the price feed's manual source. An operator person types a bond's price (percent of par,
with a fresh TOTP code); the feed reads the entries back and combines them with its other sources. An entry is one
source's quote, not a posting: only the combined price goes to the oracle, through ``/v1/operator/prices``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from gateway.addresses import Address
from gateway.api.deps import SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import MarketOperate
from gateway.db import audit_log
from gateway.exceptions import InvalidRequest, NotFound
from gateway.operator.prices import PERCENT
from gateway.risk.feeds.models import PriceEntry
from gateway.trading.deps import OperatorAdmin
from gateway.trading.models import Instrument, InstrumentKind

router = APIRouter(prefix="/risk", tags=["risk"], responses=problem_responses(401, 403, 404, 409, 422, 429))


class PriceEntryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset: Address
    quote: Address
    price_percent_of_par: str = Field(pattern=PERCENT, description="the bond's price in percent of par, e.g. 98.75")


class PriceEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    asset: Address
    quote: Address
    price_percent_of_par: str
    entered_by: uuid.UUID
    created_at: datetime


class PriceEntriesPublic(BaseModel):
    data: list[PriceEntryPublic]
    next_cursor: str | None = None


def _listed(session: SessionDep, address: str, kind: InstrumentKind) -> str:
    row = session.get(Instrument, address.lower())
    if row is None or row.kind != kind.value:
        raise NotFound(f"{address} is not a listed {kind.value} instrument")
    return row.address


@router.post("/price-entries", response_model=PriceEntryPublic, status_code=201)
def enter_price(body: PriceEntryCreate, principal: OperatorAdmin, session: SessionDep) -> PriceEntry:
    """A manual quote for the price feed (one source among several; the feed posts the combined price)."""
    if Decimal(body.price_percent_of_par) <= 0:
        raise InvalidRequest("price_percent_of_par: a positive price")
    row = PriceEntry(
        id=uuid.uuid4(),
        asset=_listed(session, body.asset, InstrumentKind.BOND),
        quote=_listed(session, body.quote, InstrumentKind.CASH),
        price_percent_of_par=format(Decimal(body.price_percent_of_par).normalize(), "f"),
        entered_by=principal.id,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    audit_log.append(
        session,
        actor=principal.actor,
        action="risk.price_entered",
        object_type="price_entry",
        object_id=str(row.id),
        change={"asset": row.asset, "quote": row.quote, "percent_of_par": row.price_percent_of_par},
    )
    session.commit()
    return row


@router.get("/price-entries", response_model=PriceEntriesPublic, status_code=200)
def list_price_entries(principal: MarketOperate, session: SessionDep) -> PriceEntriesPublic:
    """Manual quotes, newest first (at most 500): what the feed's manual source reads."""
    rows = session.scalars(select(PriceEntry).order_by(PriceEntry.created_at.desc()).limit(500)).all()
    return PriceEntriesPublic(data=[PriceEntryPublic.model_validate(r) for r in rows])
