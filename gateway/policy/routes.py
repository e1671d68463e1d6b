"""/v1/policy: the organization's active rules, drafts, and their approval by a second approver."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from gateway.api.deps import PageQuery, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import PolicyManage, PolicyRead
from gateway.db import pages
from gateway.policy import service
from gateway.policy.engine import Rule
from gateway.trading.models import PolicyVersion

router = APIRouter(prefix="/policy", tags=["policy"], responses=problem_responses(401, 403, 404, 409, 422, 429))


class DraftCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(max_length=100)


class Decide(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool


class PolicyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    status: str
    is_active: bool
    rules: list[Rule]
    created_by: uuid.UUID
    decided_by: uuid.UUID | None
    created_at: datetime
    decided_at: datetime | None


class PoliciesPublic(BaseModel):
    data: list[PolicyPublic]
    next_cursor: str | None


@router.get("", response_model=PolicyPublic | None, status_code=200)
def get_active(principal: PolicyRead, session: SessionDep) -> PolicyVersion | None:
    """The active rule list (null: none, every trade is allowed)."""
    return service.active(session, principal.organization_id)


@router.get("/versions", response_model=PoliciesPublic, status_code=200)
def list_versions(principal: PolicyRead, session: SessionDep, page: PageQuery) -> PoliciesPublic:
    query = select(PolicyVersion).where(PolicyVersion.organization_id == principal.organization_id)
    query = pages.keyset(query, page, PolicyVersion.version)
    rows, next_cursor = pages.finish(session.scalars(query).all(), page, lambda p: (p.version,))
    return PoliciesPublic(data=[PolicyPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/drafts", response_model=PolicyPublic, status_code=201)
def create_draft(body: DraftCreate, principal: PolicyManage, session: SessionDep) -> PolicyVersion:
    """Propose a new ordered rule list (first match wins); it applies once another approver approves it."""
    return service.create_draft(
        session,
        actor=principal.actor,
        user_id=principal.id,
        organization_id=principal.organization_id,
        rules=body.rules,
    )


@router.post("/drafts/{draft_id}/decision", response_model=PolicyPublic, status_code=200)
def decide(draft_id: uuid.UUID, body: Decide, principal: PolicyManage, session: SessionDep) -> PolicyVersion:
    draft = service.load_draft(session, draft_id=draft_id, organization_id=principal.organization_id)
    return service.decide_draft(session, actor=principal.actor, user_id=principal.id, draft=draft, approve=body.approve)
