"""Tables of the operator's desk: price postings, each checked against the instrument's bounds."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, utcnow


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


class PriceStatus(StrEnum):
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # a larger move: a second operator person confirms
    POSTED = "posted"  # queued to the oracle (its settlement says when it is final)
    REJECTED = "rejected"


class PricePosting(Base):
    """A bond's price in a cash token, in percent of par, as proposed and (for a larger move) confirmed."""

    __tablename__ = "price_postings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    asset: Mapped[str] = mapped_column(String(42), index=True)
    quote: Mapped[str] = mapped_column(String(42))
    price_percent_of_par: Mapped[str] = mapped_column(String(48))
    previous_percent_of_par: Mapped[str | None] = mapped_column(String(48), nullable=True)
    move_bps: Mapped[int | None] = mapped_column(nullable=True)  # None: no earlier price to compare with
    status: Mapped[str] = mapped_column(String(24), index=True)
    proposed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    settlement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
