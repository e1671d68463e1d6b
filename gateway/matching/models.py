"""The GC book in the database: the baskets, every order as signed with its state, every fill and its repo, the
members' credit limits, and the instructions the matching service takes in order. The engine
(``gateway.matching.book``) is rebuilt from the resting rows on start (``store.load_book``), in their time priority.

Amounts and rates are integers stored as decimal strings (a uint256 does not fit a BIGINT), like the trading tables."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, UTCDateTime, utcnow


class GcBasketRow(Base):
    """A GC basket the operator lists: its cash token, eligible bonds with haircuts, and the standard terms of every
    repo traded in it. Orders sign its hash (``contracts.gc.GcBasket.hash``), so a basket never changes."""

    __tablename__ = "gc_baskets"

    basket_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cash_token: Mapped[str] = mapped_column(String(42))
    day_count_basis: Mapped[int] = mapped_column(Integer)
    min_transfer_amount: Mapped[str] = mapped_column(String(80))
    margin_cure_period: Mapped[int] = mapped_column(BigInteger)
    grace_period: Mapped[int] = mapped_column(BigInteger)
    bonds: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"token": "0x..", "haircut_bps": 200}, ...]
    basket_hash: Mapped[str] = mapped_column(String(66))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GcOrder(Base):
    """One member's order; ``status`` and ``filled_units`` follow the engine's outcomes. ``pending`` until the
    matching service has taken it. The signed fields (``maker`` .. ``signature``) are what settles each fill."""

    __tablename__ = "gc_orders"
    __table_args__ = (UniqueConstraint("organization_id", "client_order_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    client_order_id: Mapped[str] = mapped_column(String(80))  # the member's own id, unique per member
    basket_id: Mapped[str] = mapped_column(String(64))
    tenor: Mapped[str] = mapped_column(String(8))  # gateway.matching.instruments.Tenor value
    forward_start_days: Mapped[int] = mapped_column(Integer, default=0)
    side: Mapped[str] = mapped_column(String(8))  # lend | borrow
    tif: Mapped[str] = mapped_column(String(8))  # limit | ioc | fok
    rate: Mapped[str] = mapped_column(String(80))  # 1e18 scale, signed: a lend's floor, a borrow's cap
    size_units: Mapped[str] = mapped_column(String(80))
    min_fill_units: Mapped[str] = mapped_column(String(80))
    filled_units: Mapped[str] = mapped_column(String(80), default="0")
    status: Mapped[str] = mapped_column(String(16), index=True)  # gateway.matching.orders.OrderStatus value
    cancel_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    priority: Mapped[int] = mapped_column(BigInteger)  # time priority: restored on restart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    wallet_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("wallets.id"), nullable=True)
    maker: Mapped[str | None] = mapped_column(String(42), nullable=True)
    order_hash: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True)  # EIP-712 struct hash
    signed: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # the GcOrder message, ints as strings
    signature: Mapped[str | None] = mapped_column(Text, nullable=True)
    deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # signed: the opening day's end
    # the end of the trading day it was entered on: the book expires it then (for a tom-next or forward-starting
    # order, a day or more before its signed deadline)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    # cancelled while fills of it waited for their opening day: its nonce is voided on chain once they have opened
    nonce_void_due: Mapped[bool] = mapped_column(default=False)


class FillStatus(enum.StrEnum):
    """A fill's way to its repo: ``scheduled`` until its opening day (tom-next, forward starts), ``settling`` while
    its transactions are on their way, then ``settled`` (the repo is open) or ``failed``."""

    SCHEDULED = "scheduled"
    SETTLING = "settling"
    SETTLED = "settled"
    FAILED = "failed"


class GcFill(Base):
    """One match between a lend and a borrow order, at the resting order's rate."""

    __tablename__ = "gc_fills"
    __table_args__ = (Index("ix_gc_fills_scheduled", "status", "opens_at"),)

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    lend_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gc_orders.id"), index=True)
    borrow_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gc_orders.id"), index=True)
    basket_id: Mapped[str] = mapped_column(String(64))
    tenor: Mapped[str] = mapped_column(String(8))
    forward_start_days: Mapped[int] = mapped_column(Integer)
    rate: Mapped[str] = mapped_column(String(80))
    amount_units: Mapped[str] = mapped_column(String(80))
    aggressor: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="settling")  # scheduled | settling | settled | failed
    # a tom-next or forward-starting fill: the chain time its opening day begins (it is ``scheduled`` until then)
    opens_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    settlement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    repo_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    collateral_token: Mapped[str | None] = mapped_column(String(42), nullable=True)
    collateral_amount: Mapped[str | None] = mapped_column(String(80), nullable=True)
    failure: Mapped[str | None] = mapped_column(Text, nullable=True)
    # when its amount stopped counting against the pair's limits: its repo ended, or it failed to settle
    credit_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class GcCreditLimit(Base):
    """A member's limit toward a counterparty member, in the smallest cash units: a pair with no limit both ways
    cannot trade."""

    __tablename__ = "gc_credit_limits"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    counterparty_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    limit_units: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GcPairCap(Base):
    """A pair's cap on both members' GC credit limits toward each other, from their effective margin agreement
    (``member_a`` < ``member_b`` by id, as the agreement orders them); ``cap_units`` None: the agreement names none."""

    __tablename__ = "gc_pair_caps"

    member_a: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    member_b: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    cap_units: Mapped[str | None] = mapped_column(String(80), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GcInstruction(Base):
    """What the matching service takes, in order: a new order, a cancellation, a credit limit. ``sequence`` is
    given out under a lock on ``GcSequence`` held to commit, so the rows become visible in sequence order (the
    service reads ``after`` the last it took and must never pass over one that commits later). ``answered_at``:
    its outcome was recorded (a repeated outcome is ignored)."""

    __tablename__ = "gc_instructions"

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    action: Mapped[str] = mapped_column(String(16))  # submit | cancel | expire | credit_limit
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("gc_orders.id"), nullable=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class GcSequence(Base):
    """The last instruction sequence given out (one row, locked by each new instruction until it commits)."""

    __tablename__ = "gc_sequence"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger)
