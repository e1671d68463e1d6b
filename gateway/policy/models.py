"""The policy's own table: an approver's no, with the reason the people who asked for the trade or instruction read.

A yes is a row per approver (``trading.models.TradeApproval``, ``settlement_records.models.InstructionApproval``);
a no is one row and ends the subject: one approver may stop what two must allow (the safe direction needs no four
eyes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, utcnow


class Subject(StrEnum):
    TRADE = "trade"
    INSTRUCTION = "instruction"


class Rejection(Base):
    """One organization's refusal of a trade or instruction its policy sent to approval."""

    __tablename__ = "rejections"
    __table_args__ = (UniqueConstraint("subject", "subject_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject: Mapped[str] = mapped_column(String(16))  # Subject
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
