"""Margin agreements between two members: versioned terms, effective only once the counterparty approves."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, UTCDateTime


class MarginAgreement(Base):
    """One version of the margin terms of a pair of members (``member_a`` < ``member_b`` by id, whoever
    proposed). A version is ``proposed`` until the other member approves it; approving makes it ``effective`` and
    the pair's previous effective version ``superseded``. ``auto_call_*``: each member's standing instruction that
    the risk service may call margin on its behalf when it is the lender."""

    __tablename__ = "risk_agreements"
    __table_args__ = (UniqueConstraint("member_a", "member_b", "version", name="uq_risk_agreements_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    member_a: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    member_b: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # proposed | effective | superseded | rejected
    base_currency: Mapped[str] = mapped_column(String(42))  # the cash token amounts are expressed in
    threshold_units: Mapped[str] = mapped_column(String(80))
    minimum_transfer_units: Mapped[str] = mapped_column(String(80))
    rounding_units: Mapped[str] = mapped_column(String(80))
    method: Mapped[str] = mapped_column(String(1))  # A | B (GMRA)
    cure_period_seconds: Mapped[int] = mapped_column(BigInteger)
    auto_call_a: Mapped[bool] = mapped_column(default=False)
    auto_call_b: Mapped[bool] = mapped_column(default=False)
    eligible: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # gateway.risk.eligibility
    valuation_times: Mapped[list[str]] = mapped_column(JSON, default=list)  # "HH:MM" UTC; none: continuously
    # the most either member's GC order-book credit limit toward the other may be (gateway.matching.credit_caps);
    # none: no cap beyond each member's own limit
    gc_credit_cap_units: Mapped[str | None] = mapped_column(String(80), nullable=True)
    proposed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
