"""The GC book's public shapes: baskets, anonymous depth per instrument, a member's own orders, fills and credit
limits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.addresses import Address
from gateway.matching.instruments import MAX_FORWARD_START_DAYS


class DepthLevelPublic(BaseModel):
    rate: str  # annual, 1e18 scale, signed
    total_units: str  # cash resting at this rate, smallest units
    orders: int


class DepthPublic(BaseModel):
    """Best rate first on each side: the lowest lend rate, the highest borrow rate. No member is named."""

    basket_id: str
    tenor: str
    forward_start_days: int
    lend: list[DepthLevelPublic]
    borrow: list[DepthLevelPublic]


class GcOrderPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_order_id: str
    basket_id: str
    tenor: str
    forward_start_days: int
    side: str
    tif: str
    rate: str
    size_units: str
    min_fill_units: str
    filled_units: str
    status: str
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime


class GcOrdersPublic(BaseModel):
    data: list[GcOrderPublic]
    next_cursor: str | None = None


class GcBondIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Address = Field(description="a bond the gateway lists")
    haircut_bps: int = Field(ge=0, le=9_999)


class GcBondPublic(BaseModel):
    token: Address
    haircut_bps: int


class GcBasketCreate(BaseModel):
    """A GC basket: eligible bonds with haircuts, one cash token, and the standard terms of its repos. Fixed once
    listed: orders sign its hash."""

    model_config = ConfigDict(extra="forbid")

    basket_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    cash_token: Address
    day_count_basis: Literal[360, 365] = 360
    min_transfer_amount: str = Field(pattern=r"^[0-9]{1,30}$", description="smallest cash units")
    margin_cure_period_seconds: int = Field(ge=0, le=30 * 86_400)
    grace_period_seconds: int = Field(ge=0, le=30 * 86_400)
    bonds: list[GcBondIn] = Field(min_length=1, max_length=50)


class GcBasketPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    basket_id: str
    cash_token: Address
    day_count_basis: int
    min_transfer_amount: str
    margin_cure_period: int
    grace_period: int
    bonds: list[GcBondPublic]
    basket_hash: str
    created_at: datetime


class GcBasketsPublic(BaseModel):
    data: list[GcBasketPublic]
    next_cursor: str | None = None


class GcOrderCreate(BaseModel):
    """An order to lend or borrow cash in a basket for a tenor: ``rate`` is a lend order's floor or a borrow order's
    cap (annual, 1e18 scale, signed). The custodial wallet signs it once; every fill stays within it."""

    model_config = ConfigDict(extra="forbid")

    client_order_id: str = Field(min_length=1, max_length=80)
    wallet_id: uuid.UUID
    basket_id: str = Field(min_length=1, max_length=64)
    tenor: str = Field(min_length=1, max_length=8)
    forward_start_days: int = Field(
        default=0, ge=0, le=MAX_FORWARD_START_DAYS, description="days after the tenor's usual opening day"
    )
    side: Literal["lend", "borrow"]
    tif: Literal["limit", "ioc", "fok"] = "limit"
    rate: str = Field(pattern=r"^-?[0-9]{1,30}$")
    size_units: str = Field(pattern=r"^[1-9][0-9]{0,29}$")
    min_fill_units: str = Field(default="1", pattern=r"^[1-9][0-9]{0,29}$")


class GcOrderAmend(BaseModel):
    """A lower total size for a live order (it keeps its time priority). A higher size or another rate is a new
    order: cancel this one and enter it."""

    model_config = ConfigDict(extra="forbid")

    size_units: str = Field(pattern=r"^[1-9][0-9]{0,29}$")


class GcOrderReplace(BaseModel):
    """Cancel/replace: the live order's unfilled rest at another ``rate`` (and optionally another total size, of
    which the filled part counts), as a new order with its own ``client_order_id`` and new time priority."""

    model_config = ConfigDict(extra="forbid")

    client_order_id: str = Field(min_length=1, max_length=80)
    rate: str = Field(pattern=r"^-?[0-9]{1,30}$")
    size_units: str | None = Field(default=None, pattern=r"^[1-9][0-9]{0,29}$")


class GcCreditLimitSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    counterparty_id: uuid.UUID = Field(description="the other member")
    limit_units: str = Field(pattern=r"^[0-9]{1,30}$", description="smallest cash units; 0 stops new matches")


class GcCreditLimitPublic(BaseModel):
    """The member's own limit, the pair's agreed cap (none without one) and what the book counts: the smaller."""

    organization_id: uuid.UUID
    counterparty_id: uuid.UUID
    limit_units: str
    agreed_cap_units: str | None
    book_units: str
    updated_at: datetime


class GcFillPublic(BaseModel):
    """One of the member's fills: its side, amount, rate, and the repo it opened. ``scheduled`` until its opening day
    (``opens_at``: tom-next, forward starts), then ``settling``, ``settled`` or ``failed``."""

    sequence: int
    order_id: uuid.UUID
    side: str
    basket_id: str
    tenor: str
    forward_start_days: int
    rate: str
    amount_units: str
    status: str
    opens_at: datetime | None
    repo_id: int | None
    collateral_token: Address | None
    collateral_amount: str | None
    failure: str | None
    created_at: datetime


class GcFillsPublic(BaseModel):
    data: list[GcFillPublic]
    next_cursor: str | None = None


class FillIn(BaseModel):
    """One fill the matching service made: ``amount_units`` of cash at ``rate``, at the resting order's rate."""

    model_config = ConfigDict(extra="forbid")

    sequence: int = Field(ge=1)
    lend_order_id: uuid.UUID
    borrow_order_id: uuid.UUID
    rate: str = Field(pattern=r"^-?[0-9]{1,30}$")
    amount_units: str = Field(pattern=r"^[1-9][0-9]{0,29}$")


class OrderStateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: uuid.UUID
    status: Literal["resting", "filled", "cancelled", "expired", "rejected"]
    filled_units: str | None = Field(default=None, pattern=r"^[0-9]{1,30}$")
    cancel_reason: str | None = Field(default=None, max_length=32)


class OutcomeIn(BaseModel):
    """The matching service's answer to instruction ``sequence``."""

    model_config = ConfigDict(extra="forbid")

    sequence: int = Field(ge=1)
    fills: list[FillIn] = Field(default_factory=list, max_length=1_000)
    orders: list[OrderStateIn] = Field(default_factory=list, max_length=1_000)
    refused: str | None = Field(default=None, max_length=500)


class OutcomeRecorded(BaseModel):
    sequence: int
    recorded: bool  # False: this outcome was already recorded (a repeat changes nothing)
    fills: int


class OrderWirePublic(BaseModel):
    """An order as the book takes it: its member is an organization id, never shown to another member."""

    order_id: str
    member: str
    basket_id: str
    tenor: str
    forward_start_days: int
    side: str
    tif: str
    rate: str
    size_units: str
    min_fill_units: str


class CreditWirePublic(BaseModel):
    member: str
    counterparty: str
    limit_units: str


class ReleaseWirePublic(BaseModel):
    lender: str
    borrower: str
    amount_units: str


class AmendWirePublic(BaseModel):
    size_units: str


class GcInstructionPublic(BaseModel):
    sequence: int
    action: Literal["submit", "cancel", "expire", "end_session", "credit_limit", "release", "amend", "withdraw"]
    order: OrderWirePublic | None
    order_id: str | None
    credit: CreditWirePublic | None
    release: ReleaseWirePublic | None = None
    amend: AmendWirePublic | None = None


class GcInstructionsPublic(BaseModel):
    data: list[GcInstructionPublic]
    next_cursor: str | None = None


class GcTradePublic(BaseModel):
    """A settled fill as the market sees it: no member, no order."""

    sequence: int
    basket_id: str
    tenor: str
    rate: str
    amount_units: str
    created_at: datetime


class GcTradesPublic(BaseModel):
    data: list[GcTradePublic]
    next_cursor: str | None = None


class GcFixingPublic(BaseModel):
    """The day's volume-weighted rate of settled fills in one instrument (``rate`` null: none that day)."""

    basket_id: str
    tenor: str
    date: str
    rate: str | None
    volume_units: str
    fills: int
