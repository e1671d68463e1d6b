"""/v1/risk/price-entries: the price feed's manual source. An operator person types a bond's price (percent of par,
with a fresh TOTP code); the feed reads the entries back and combines them with its other sources. An entry is one
source's quote, not a posting: only the combined price goes to the oracle.

/v1/risk/feed/*: the feed's own two doors, for its machine key (scope ``prices:feed``, an operator key made on the
gateway's host): read the manual entries, and post a combined price through the price route's own work (its bound,
and a second operator person for a larger move). A key of any other organization is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.addresses import Address
from gateway.api.deps import ContextDep, Principal, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import MarketOperate, PricesFeed
from gateway.db import audit_log
from gateway.db.models import ApiClient, Organization
from gateway.exceptions import InvalidRequest, NotFound, PermissionDenied
from gateway.leases import service as leases
from gateway.leases.models import LeaseKind
from gateway.leases.routes import LeaseToken
from gateway.operator.prices import PERCENT, PriceCreate, PricePublic, propose_price
from gateway.risk.feeds.models import PriceEntry
from gateway.settlement.hub import HubDep
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


def _entries(session: SessionDep) -> PriceEntriesPublic:
    rows = session.scalars(select(PriceEntry).order_by(PriceEntry.created_at.desc()).limit(500)).all()
    return PriceEntriesPublic(data=[PriceEntryPublic.model_validate(r) for r in rows])


@router.get("/price-entries", response_model=PriceEntriesPublic, status_code=200)
def list_price_entries(principal: MarketOperate, session: SessionDep) -> PriceEntriesPublic:
    """Manual quotes, newest first (at most 500): what the feed's manual source reads."""
    return _entries(session)


def _feed_owner(session: Session, principal: Principal) -> uuid.UUID:
    """The operator person the feed's key was made under (the posting's proposer; four eyes exclude them)."""
    client = session.get(ApiClient, principal.id) if principal.kind == "client" else None
    organization = session.get(Organization, principal.organization_id)
    if client is None or organization is None or not organization.is_operator:
        raise PermissionDenied("prices:feed is the operator's price feed key")
    return client.created_by


@router.get("/feed/price-entries", response_model=PriceEntriesPublic, status_code=200)
def feed_price_entries(principal: PricesFeed, session: SessionDep) -> PriceEntriesPublic:
    """The manual quotes, for the price feed's key (newest first, at most 500)."""
    _feed_owner(session, principal)
    return _entries(session)


@router.post("/feed/prices", response_model=PricePublic, status_code=202)
def feed_price(
    body: PriceCreate,
    principal: PricesFeed,
    ctx: ContextDep,
    read: ReadSessionDep,
    session: SessionDep,
    hub: HubDep,
    lease_token: LeaseToken = None,
) -> PricePublic:
    """The feed's combined price, through the price route's work: posted within the bound, else it waits for an
    operator person other than the key's owner (``POST /v1/operator/prices/{id}/confirm``). Idempotency-Key. With an
    X-Lease-Token, only the price-feed lease's current holder may post (409 for a stale one)."""
    owner, org = _feed_owner(read, principal), principal.organization_id
    leases.check(read, LeaseKind.PRICE_FEED, org, lease_token, lock=False)  # refused before the oracle's read

    def fence(write: Session) -> None:  # again in the write transaction, locked until it commits
        leases.check(write, LeaseKind.PRICE_FEED, org, lease_token)

    return propose_price(
        body, proposer=owner, actor=principal.actor, ctx=ctx, read=read, session=session, hub=hub, fence=fence
    )
