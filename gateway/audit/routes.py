"""/v1/audit: the log, its verification and on-demand anchoring (operator staff)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from gateway.access.permissions import Permission
from gateway.api.deps import ContextDep, PageQuery, Principal, SessionDep, StepUp, require
from gateway.api.errors import problem_responses
from gateway.audit import service
from gateway.audit.schemas import AnchorPublic, AuditEntriesPublic, AuditEntryPublic, VerifyPublic
from gateway.chain.base import NullChain
from gateway.db.models import AuditAnchorRecord

# Set by the app: queues the anchor where a relayer sends the anchors (gateway.settlement.registry.anchor_head), None
# where none does (409 while one is on its way). Audit sits below settlement: the route is handed the outbox.
AnchorQueue = Callable[[Session, str], AnchorPublic | None]

router = APIRouter(prefix="/audit", tags=["audit"], responses=problem_responses(401, 403, 413, 422, 429))

AuditReader = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]


@router.get("/entries", response_model=AuditEntriesPublic, status_code=200)
def list_entries(
    _: AuditReader,
    session: SessionDep,
    page: PageQuery,
) -> AuditEntriesPublic:
    """The log, newest entry first (``order=oldest`` to replay it from the start)."""
    rows, next_cursor = service.entries(session, page=page)
    return AuditEntriesPublic(data=[AuditEntryPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/verify", response_model=VerifyPublic, status_code=200, responses=problem_responses(502))
def verify(_: AuditReader, ctx: ContextDep, session: SessionDep) -> VerifyPublic:
    """Check every hash link, and the anchored heads read from the chain (from the database's copy only when no
    chain is configured: ``anchors_source`` says which). Reports how much of the log is not anchored yet."""
    chain = None if isinstance(ctx.chain, NullChain) else ctx.chain
    result = service.verify(session, chain=chain)
    return VerifyPublic(
        ok=result.ok,
        entries=result.entries,
        head_hash=result.head_hash,
        first_bad_sequence=result.first_bad_sequence,
        reason=result.reason,
        anchors_checked=result.anchors_checked,
        anchors_source=result.anchors_source,
        unanchored_entries=result.unanchored_entries,
        unanchored_seconds=result.unanchored_seconds,
    )


@router.post("/anchor", response_model=AnchorPublic, status_code=201, responses=problem_responses(409, 502))
def anchor(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AUDIT_ANCHOR))],
    _: StepUp,
    ctx: ContextDep,
    session: SessionDep,
) -> AuditAnchorRecord | AnchorPublic:
    """Anchor the current audit head on chain now: queued on the outbox where a relayer sends the anchors (the
    answer's ``settlement_id``; ``tx_hash`` and ``anchored_at`` once final), else sent before the answer."""
    queue: AnchorQueue | None = getattr(request.app.state, "queue_anchor", None)
    queued = queue(session, principal.actor) if queue is not None else None
    if queued is not None:
        return queued
    return service.anchor_head(session, chain=ctx.chain, actor=principal.actor)
