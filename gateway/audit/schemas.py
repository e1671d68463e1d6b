"""Audit bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


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
    count: int


class VerifyPublic(BaseModel):
    ok: bool
    entries: int
    head_hash: str
    first_bad_sequence: int | None
    reason: str | None
    anchors_checked: int


class AnchorPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    sequence: int
    head_hash: str
    tx_hash: str | None
    anchored_at: datetime
