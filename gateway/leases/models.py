"""One row per (service kind, organization): who holds the lease, until when, and its fencing token."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, UTCDateTime


class LeaseKind(StrEnum):
    """A service that must act from one instance at a time (its machine key's organization scopes the lease)."""

    RISK = "risk"
    PRICE_FEED = "price-feed"
    SURVEILLANCE = "surveillance"


class ServiceLease(Base):
    __tablename__ = "service_leases"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    token: Mapped[int] = mapped_column(BigInteger)  # +1 at each change of holder (or re-acquisition after expiry)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
