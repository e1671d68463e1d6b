"""Wire shapes of cure tracking: standing instructions, the risk service's watch list, its reminders, default and
excess requests, the proposals it prepares and the notices it leaves. Amounts in smallest units, as strings."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gateway.risk.cure_models import Mode


class InstructionCreate(BaseModel):
    """A new version of the member's standing instruction; it applies once another person approves it."""

    model_config = ConfigDict(extra="forbid")

    close_out: Mode = Field(Mode.PROPOSE, description="on a lapsed call: propose the close-out, or run it")
    excess_return: Mode = Field(Mode.PROPOSE, description="on excess collateral: propose its return, or run it")
    remind_before_seconds: int = Field(3_600, ge=0, le=30 * 86_400)


class InstructionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool


class InstructionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    status: str
    close_out: Mode
    excess_return: Mode
    remind_before_seconds: int
    created_by: uuid.UUID
    created_at: datetime
    decided_by: uuid.UUID | None
    decided_at: datetime | None


class InstructionsPublic(BaseModel):
    data: list[InstructionPublic]
    next_cursor: str | None = None


class CallWatch(BaseModel):
    """A margin call outstanding on a repo the member holds."""

    repo_id: int
    cure_deadline: int  # chain time (Unix seconds)
    outstanding: str
    updated_block: int


class SellerWatch(BaseModel):
    """An open repo the member sold, with what valuing it needs (the engine's method B)."""

    repo_id: int
    repurchase_price: str
    collateral_amount: str
    cash_margin: str
    haircut_bps: int
    min_transfer_amount: str
    price: str | None
    updated_block: int


class WatchPublic(BaseModel):
    """What the risk service follows for one member: its calls' cure deadlines, its sold repos for excess."""

    now: int
    remind_before_seconds: int
    calls: list[CallWatch]
    sold: list[SellerWatch]


class ReminderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo_id: int = Field(ge=1, le=2**63 - 1)
    cure_deadline: int = Field(ge=1, le=2**63 - 1)


class DefaultCreate(ReminderCreate):
    """The call with this cure deadline lapsed uncured: mark the repo for default and prepare the close-out."""


class ExcessCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo_id: int = Field(ge=1, le=2**63 - 1)
    updated_block: int = Field(ge=0, le=2**63 - 1)


class NoticePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    repo_id: int
    kind: str
    detail: dict[str, str]
    created_at: datetime


class NoticesPublic(BaseModel):
    data: list[NoticePublic]
    next_cursor: str | None = None


class ProposalPublic(BaseModel):
    """A prepared close-out (``owed``, ``collateral_value``, ``cash_margin``, then ``shortfall`` or ``excess``) or
    excess return (``collateral_amount`` to give back); ``submitted`` once its steps are in the outbox."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    repo_id: int
    kind: str
    episode: int
    status: str
    mode: Mode
    valuation: dict[str, str]
    instruction_id: uuid.UUID | None
    settlement_id: uuid.UUID | None
    created_at: datetime
    decided_by: uuid.UUID | None
    decided_at: datetime | None


class ProposalsPublic(BaseModel):
    data: list[ProposalPublic]
    next_cursor: str | None = None
