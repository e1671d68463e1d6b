"""Audit bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    sequence: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    change_digest: str
    prev_hash: str
    entry_hash: str


class AuditEntriesPublic(BaseModel):
    data: list[AuditEntryPublic]
    next_cursor: str | None


class VerifyPublic(BaseModel):
    ok: bool
    entries: int
    head_hash: str
    first_bad_sequence: int | None
    reason: str | None
    anchors_checked: int
    anchors_source: str = Field(description='"chain", or "database" when no chain is configured (a weaker check)')
    unanchored_entries: int = Field(description="entries after the last anchor")
    unanchored_seconds: float | None = Field(description="age of the oldest entry not anchored yet")


class AnchorPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    sequence: int
    head_hash: str
    tx_hash: str | None
    anchored_at: datetime | None = Field(description="None while the anchor is on its way (``settlement_id``)")
    settlement_id: uuid.UUID | None = Field(
        default=None, description="the outbox settlement that carries the anchor to the chain"
    )
