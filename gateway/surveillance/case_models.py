"""Tables of surveillance's work queue: the alerts the service raises, the cases analysts work, and each case's
entries (assignment, comment, evidence, escalation, close request, close), append-only so a case's history reads
in order beside the audit log that records every change too."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, UTCDateTime, utcnow


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class CaseStatus(StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"
    CLOSE_REQUESTED = "close_requested"  # a high-severity case waits for a second person to confirm the close
    CLOSED = "closed"


class EntryKind(StrEnum):
    OPENED = "opened"
    ALERT = "alert"  # a further alert joined the case
    ASSIGNED = "assigned"
    COMMENT = "comment"
    EVIDENCE = "evidence"
    ESCALATED = "escalated"
    CLOSE_REQUESTED = "close_requested"
    CLOSED = "closed"
    SAR = "sar"


class SurveillanceAlert(Base):
    """One finding of a rule or the model on one trade (or a member's activity). ``key`` makes raising idempotent:
    the service may send the same alert again after a restart."""

    __tablename__ = "surveillance_alerts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(8))  # rule | model
    detector: Mapped[str] = mapped_column(String(64))  # the rule's name, or "isolation_forest vN"
    typology: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"), nullable=True)
    subject: Mapped[str] = mapped_column(String(100))  # the member (organization id) or wallet concerned
    reason: Mapped[str] = mapped_column(Text)
    top_features: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)  # the trades and feed entries it rests on
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the activity happened
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("surveillance_cases.id"), nullable=True, index=True)


class SurveillanceCase(Base):
    """One matter an analyst works: opened from an alert; later alerts on the same subject join it while open."""

    __tablename__ = "surveillance_cases"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    number: Mapped[int] = mapped_column(Integer, unique=True)  # human reference: SC-<number>
    subject: Mapped[str] = mapped_column(String(100), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"), nullable=True)
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.OPEN.value, index=True)
    assignee: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    close_requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    closed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CaseEntry(Base):
    __tablename__ = "surveillance_case_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("surveillance_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
