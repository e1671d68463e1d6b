"""/v1/consents: the member's record of every consent behind a signature with one of its custodial keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from gateway.api.deps import PageQuery, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead
from gateway.custody.models import Consent
from gateway.db import pages

router = APIRouter(tags=["custody"], responses=problem_responses(401, 403, 422, 429))


class ConsentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    wallet_id: uuid.UUID
    user_id: uuid.UUID
    purpose: str
    subject: str
    digest: str
    basis_id: uuid.UUID | None
    created_at: datetime


class ConsentsPublic(BaseModel):
    data: list[ConsentPublic]
    next_cursor: str | None


@router.get("/consents", response_model=ConsentsPublic, status_code=200)
def list_consents(
    principal: ReposRead,
    session: SessionDep,
    page: PageQuery,
    subject: Annotated[str | None, Query(max_length=80)] = None,
) -> ConsentsPublic:
    """Who of the organization consented to which digest, when (newest first); ``subject`` e.g. ``trade/<id>``."""
    query = select(Consent).where(Consent.organization_id == principal.organization_id)
    if subject is not None:
        query = query.where(Consent.subject == subject)
    query = pages.keyset(query, page, Consent.created_at, Consent.id)
    rows, next_cursor = pages.finish(session.scalars(query).all(), page, lambda c: (c.created_at, c.id))
    return ConsentsPublic(data=[ConsentPublic.model_validate(r) for r in rows], next_cursor=next_cursor)
