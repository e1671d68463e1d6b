"""The GC book's public shapes: anonymous depth per instrument, and a member's own orders."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


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
