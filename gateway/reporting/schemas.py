"""Wire shapes of reporting's routes."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from gateway.reporting.reconcile import BreakKind


class BreakPublic(BaseModel):
    uti: str
    kind: BreakKind
    field: str
    ours: str
    theirs: str


class ReconciliationPublic(BaseModel):
    """The member's records of ``date`` against its counterparties' records of the same repos, paired by UTI."""

    member_lei: str
    date: date
    records_ours: int
    records_theirs: int
    paired: int
    matched: int
    breaks: list[BreakPublic]
