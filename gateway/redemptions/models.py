"""Tables of redemption: a member's request to turn tokenized cash back into money paid out off chain."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, utcnow


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


class RedemptionStatus(StrEnum):
    REQUESTED = "requested"  # the member consented; the issuer has not acted yet
    EXECUTING = "executing"  # the issuer queued the member's approval and the burn (see the settlement)
    DECLINED = "declined"


class Redemption(Base):
    """A member's request to redeem ``amount`` (smallest units) of ``token`` from one of its wallets."""

    __tablename__ = "redemptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    wallet_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallets.id"))
    token: Mapped[str] = mapped_column(String(42))
    amount: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    consent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)  # custodial: the approval's consent
    executed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    settlement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
