"""The approver's desk over HTTP: the queue of what awaits the organization's approval, and a rejection's reason."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gateway.addresses import Address
from gateway.trading.models import Subject


class RejectionCreate(BaseModel):
    """Why the organization says no: shown to the people who asked and to the counterparty, and kept in the audit
    trail."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=3, max_length=500)


class AwaitingPublic(BaseModel):
    """One trade side or lifecycle instruction the policy sends to approvers, not yet signed by the member, with the
    rule that asks for them. ``notional``: a decimal string in ``cash_token``'s units."""

    subject: Subject
    id: uuid.UUID
    side: str | None
    instruction_kind: str | None
    repo_id: int | None
    counterparty: uuid.UUID | None = Field(description="the other member (null: the other side is not a member here)")
    notional: str
    cash_token: Address
    collateral_token: Address
    rule: str
    approvals_needed: int
    approvals_given: int
    approved_by_me: bool
    may_approve: bool
    quorum_met: bool = Field(
        description="the approvals given reach the rule's count: enough unless the signer is one of them (signing "
        "does not count the signer's own approval); the item stays listed until the member's side has signed"
    )
    created_at: datetime


class AwaitingList(BaseModel):
    """The whole queue on one page (at most 200 trades and 200 instructions): ``next_cursor`` is always null."""

    data: list[AwaitingPublic]
    next_cursor: str | None = None
