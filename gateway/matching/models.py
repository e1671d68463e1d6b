"""The GC book in the database: every order as signed with its state, and every fill. The engine
(``gateway.matching.book``) is rebuilt from the resting rows on start (``store.load_book``), in their time priority.

Amounts and rates are integers stored as decimal strings (a uint256 does not fit a BIGINT), like the trading tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, UTCDateTime, utcnow


class GcOrder(Base):
    """One member's order; ``status`` and ``filled_units`` follow the engine's outcomes."""

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


class GcFill(Base):
    """One match between a lend and a borrow order, at the resting order's rate."""

    __tablename__ = "gc_fills"

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
