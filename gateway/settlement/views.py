"""The API view of settlements (with their chain steps) and of a submitted step; shared by the settlement, operator
and redemption routes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, select

from gateway.api.deps import SessionDep
from gateway.settlement import service
from gateway.settlement.schemas import (
    SettlementPublic,
    StepPublic,
    Submission,
    canonical_kind,
)
from gateway.settlement_records.models import ChainStep, Settlement


def settlement_public(session: SessionDep, settlement: Settlement) -> SettlementPublic:
    steps = [StepPublic.model_validate(s) for s in service.steps_of(session, settlement.id)]
    return SettlementPublic(
        id=settlement.id,
        kind=settlement.kind,
        status=settlement.status,
        trade_id=settlement.trade_id,
        repo_id=settlement.repo_id,
        error=settlement.error,
        created_at=settlement.created_at,
        finished_at=settlement.finished_at,
        steps=steps,
    )


class Listed(Protocol):
    """A settlement as a list reads it: an ORM row or a row of plain columns."""

    id: uuid.UUID
    kind: str
    status: str
    trade_id: uuid.UUID | None
    repo_id: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


LISTED = (
    Settlement.id,
    Settlement.kind,
    Settlement.status,
    Settlement.trade_id,
    Settlement.repo_id,
    Settlement.error,
    Settlement.created_at,
    Settlement.finished_at,
)
_STEP_COLUMNS = (
    ChainStep.settlement_id,
    ChainStep.seq,
    ChainStep.label,
    ChainStep.sender,
    ChainStep.status,
    ChainStep.nonce,
    ChainStep.tx_hash,
    ChainStep.block_number,
    ChainStep.error,
    ChainStep.sent_at,
    ChainStep.final_at,
)


# built once: a page runs it with its settlements' ids (a statement built per request cost as much as running it)
_STEPS_OF = (
    select(*_STEP_COLUMNS)
    .where(ChainStep.settlement_id.in_(bindparam("settlement_ids", expanding=True)))
    .order_by(ChainStep.settlement_id, ChainStep.seq)
)


def settlements_public(session: SessionDep, settlements: Sequence[Listed]) -> list[SettlementPublic]:
    """A page of settlements with their steps in one query more, not one per settlement (plain columns).

    The rows are our own tables' columns, already of the fields' types, so the page is built without validating
    each of its hundreds of values again (``model_construct``: half of the page's CPU went there); the kind is put
    in its one vocabulary here, as the model's validator would, and addresses are checksummed on the way out."""
    steps: dict[uuid.UUID, list[StepPublic]] = {s.id: [] for s in settlements}
    if settlements:
        for step in session.connection().execute(_STEPS_OF, {"settlement_ids": list(steps)}):
            steps[step.settlement_id].append(StepPublic.model_construct(**step._mapping))  # settlement_id: not a field
    return [
        SettlementPublic.model_construct(
            id=s.id,
            kind=canonical_kind(s.kind),
            status=s.status,
            trade_id=s.trade_id,
            repo_id=s.repo_id,
            error=s.error,
            created_at=s.created_at,
            finished_at=s.finished_at,
            steps=steps[s.id],
        )
        for s in settlements
    ]


def submission(session: SessionDep, submitted: service.Submitted) -> Submission:
    return Submission(
        settlement=None if submitted.settlement is None else settlement_public(session, submitted.settlement),
        transaction=submitted.transaction,
    )
