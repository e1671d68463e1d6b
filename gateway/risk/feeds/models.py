"""Manual price entries: an operator person types a price into the gateway API; the feed reads them as a source."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, UTCDateTime, utcnow


class PriceEntry(Base):
    """One manual price of a bond in a cash token, in percent of par (the unit of the gateway's price route)."""

    __tablename__ = "risk_price_entries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    asset: Mapped[str] = mapped_column(String(42), index=True)
    quote: Mapped[str] = mapped_column(String(42))
    price_percent_of_par: Mapped[str] = mapped_column(String(40))
    entered_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
