"""/v1/prices/history: the prices the oracle was given for a bond in a cash token (the price follower's
``oracle_price_points``), for a price chart, with the guard rails a new price meets: the bound on each move, the band
for a first price and the oracle's maximum age. Market data: any member may read it, as it may read the instruments.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from gateway.addresses import Address
from gateway.api.deps import ContextDep, ReadSessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import MarketRead
from gateway.indexer.models import OraclePrice, OraclePricePoint
from gateway.indexer.prices import indexed_price
from gateway.operator.prices import from_raw, listed
from gateway.trading.models import InstrumentKind

router = APIRouter(prefix="/prices", tags=["market"], responses=problem_responses(401, 403, 404, 422, 429))


class PricePointPublic(BaseModel):
    block: int
    at: datetime = Field(description="the oracle's timestamp of the price (UTC)")
    price_percent_of_par: str


class GuardRailsPublic(BaseModel):
    max_price_move_bps: int = Field(description="a larger move from the last price waits for a second operator")
    band_min_percent_of_par: int = Field(description="a first price outside the band waits for a second operator")
    band_max_percent_of_par: int
    last_price_stale: bool = Field(description="no price, or the last one is past the maximum age: refused on chain")
    max_age_seconds: int | None = Field(
        description="the oracle refuses a price older than this (None: nothing followed yet)"
    )


class PriceHistoryPublic(BaseModel):
    """Oldest first: the newest ``limit`` prices of the pair; the pair's guard rails beside them (a page fact)."""

    data: list[PricePointPublic]
    guard_rails: GuardRailsPublic
    next_cursor: str | None = None


@router.get("/history", response_model=PriceHistoryPublic, status_code=200)
def price_history(
    _: MarketRead,
    ctx: ContextDep,
    read: ReadSessionDep,
    asset: Address,
    quote: Address,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 200,
) -> PriceHistoryPublic:
    """The last ``limit`` prices of a listed bond in a listed cash token, in percent of par, as final on chain."""
    bond, cash = listed(read, asset, InstrumentKind.BOND), listed(read, quote, InstrumentKind.CASH)
    rows = read.scalars(
        select(OraclePricePoint)
        .where(OraclePricePoint.asset == bond.address, OraclePricePoint.quote == cash.address)
        .order_by(OraclePricePoint.block.desc(), OraclePricePoint.log_index.desc())
        .limit(limit)
    ).all()
    last = read.get(OraclePrice, (bond.address, cash.address))
    max_age = last.max_age if last is not None else None  # the pair's effective maximum age, as followed
    stale = indexed_price(read, bond.address, cash.address, int(time.time())) is None
    settings = ctx.settings
    return PriceHistoryPublic(
        data=[
            PricePointPublic(
                block=row.block,
                at=datetime.fromtimestamp(row.updated_at, UTC),
                price_percent_of_par=format(from_raw(int(row.price), bond, cash), "f"),
            )
            for row in reversed(rows)
        ],
        guard_rails=GuardRailsPublic(
            last_price_stale=stale,
            max_price_move_bps=bond.max_price_move_bps or settings.price_max_move_bps,
            band_min_percent_of_par=settings.price_band_min_percent_of_par,
            band_max_percent_of_par=settings.price_band_max_percent_of_par,
            max_age_seconds=max_age,
        ),
    )
