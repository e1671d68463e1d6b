"""Tables of cure tracking: a member's standing instruction for defaults and excess (versioned, four eyes), the
close-out and excess-return proposals the risk service prepares, and the notices it leaves (reminders, lapses)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, UTCDateTime, utcnow


class Mode(StrEnum):
    PROPOSE = "propose"  # a proposal an approver of the member confirms
    AUTO = "auto"  # run at once under the standing instruction (its approver's consent)


class ProposalKind(StrEnum):
    CLOSE_OUT = "close_out"  # declareDefault then closeOut, by the holder
    EXCESS_RETURN = "excess_return"  # withdrawExcess, by the seller
    MARGIN_CALL = "margin_call"  # callMargin (relayed), for a holder that chose an approver over auto-calling


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"
    SUBMITTED = "submitted"  # its steps are in the outbox
    REJECTED = "rejected"


class RiskInstruction(Base):
    """One version of a member's standing instruction to the risk service: what to do when a margin call lapses
    uncured (``close_out``) and when the member as seller has excess collateral (``excess_return``), and how long
    before a cure deadline to remind. A ``draft`` applies once a second person of the member approves it (with a
    fresh TOTP code): that person's consent is the basis of every step run under ``auto``."""

    __tablename__ = "risk_instructions"
    __table_args__ = (UniqueConstraint("organization_id", "version", name="uq_risk_instructions_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # draft | active | superseded | rejected
    close_out: Mapped[str] = mapped_column(String(8))  # Mode
    excess_return: Mapped[str] = mapped_column(String(8))  # Mode
    remind_before_seconds: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RiskProposal(Base):
    """A close-out or an excess return prepared by the risk service, with its valuation (smallest units); one per
    repo, kind and episode (the lapsed call's cure deadline; the repo's last event block for an excess)."""

    __tablename__ = "risk_proposals"
    __table_args__ = (UniqueConstraint("repo_id", "kind", "episode", name="uq_risk_proposals_episode"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    repo_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    episode: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(8))
    valuation: Mapped[dict[str, str]] = mapped_column(JSON)
    instruction_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("risk_instructions.id"), nullable=True)
    settlement_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RiskNotice(Base):
    """What the risk service told a member: a cure deadline ahead, a call lapsed, a proposal made. ``key`` makes
    each notice once per organization."""

    __tablename__ = "risk_notices"
    __table_args__ = (UniqueConstraint("organization_id", "key", name="uq_risk_notices_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    repo_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))  # cure_reminder | call_lapsed | proposal
    key: Mapped[str] = mapped_column(String(80))
    detail: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
