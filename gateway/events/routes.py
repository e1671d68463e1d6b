"""/v1/webhooks: endpoints, secret rotation, disabling and deletion, the delivery log. (The WebSocket stream, which
replays the indexer's stored events, is ``gateway.stream.routes``.)"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from gateway.api.deps import ContextDep, PageQuery, Principal, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import WebhooksManage, WebhooksRead
from gateway.db import pages
from gateway.events import webhooks
from gateway.events.models import WebhookDelivery, WebhookEndpoint
from gateway.exceptions import NotFound

router = APIRouter(tags=["events"], responses=problem_responses(401, 403, 404, 422, 429))


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://[^\s]{3,490}$")
    event_types: list[str] | None = Field(default=None, max_length=50)


class WebhookPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    event_types: list[str] | None
    is_active: bool
    previous_valid_until: datetime | None
    created_at: datetime


class WebhookWithSecret(WebhookPublic):
    secret: str = Field(description="whsec_... shown once")


class DeliveryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    message_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None


@router.post("/webhooks", response_model=WebhookWithSecret, status_code=201, responses=problem_responses(400))
def create_webhook(
    body: WebhookCreate, principal: WebhooksManage, session: SessionDep, ctx: ContextDep
) -> WebhookWithSecret:
    """Register an endpoint (https, public addresses only); the signing secret is shown once."""
    endpoint, secret = webhooks.create_endpoint(
        session,
        ctx.keys,
        organization_id=principal.organization_id,
        url=body.url,
        event_types=body.event_types,
        actor=principal.actor,
        allow_loopback=ctx.settings.webhook_allow_loopback,
    )
    return WebhookWithSecret(**WebhookPublic.model_validate(endpoint).model_dump(), secret=secret)


def _load(session: SessionDep, webhook_id: uuid.UUID, principal: Principal) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, webhook_id)
    if endpoint is None or endpoint.organization_id != principal.organization_id:
        raise NotFound("webhook not found")
    return endpoint


class WebhooksPublic(BaseModel):
    data: list[WebhookPublic]
    next_cursor: str | None


class DeliveriesPublic(BaseModel):
    data: list[DeliveryPublic]
    next_cursor: str | None


@router.get("/webhooks", response_model=WebhooksPublic, status_code=200)
def list_webhooks(principal: WebhooksRead, session: SessionDep, page: PageQuery) -> WebhooksPublic:
    query = select(WebhookEndpoint).where(WebhookEndpoint.organization_id == principal.organization_id)
    query = pages.keyset(query, page, WebhookEndpoint.created_at, WebhookEndpoint.id)
    rows, next_cursor = pages.finish(session.scalars(query).all(), page, lambda w: (w.created_at, w.id))
    return WebhooksPublic(data=[WebhookPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/webhooks/{webhook_id}/rotate", response_model=WebhookWithSecret, status_code=200)
def rotate_secret(
    webhook_id: uuid.UUID, principal: WebhooksManage, session: SessionDep, ctx: ContextDep
) -> WebhookWithSecret:
    """A new secret (shown once); the old one keeps signing alongside for 24 hours."""
    endpoint = _load(session, webhook_id, principal)
    secret = webhooks.rotate(session, ctx.keys, endpoint)
    return WebhookWithSecret(**WebhookPublic.model_validate(endpoint).model_dump(), secret=secret)


@router.post("/webhooks/{webhook_id}/disable", response_model=WebhookPublic, status_code=200)
def disable_webhook(webhook_id: uuid.UUID, principal: WebhooksManage, session: SessionDep) -> WebhookEndpoint:
    """Stop deliveries: nothing new is queued, and what is queued waits until the endpoint is enabled again."""
    endpoint = _load(session, webhook_id, principal)
    return webhooks.set_active(session, endpoint, active=False, actor=principal.actor)


@router.post(
    "/webhooks/{webhook_id}/enable", response_model=WebhookPublic, status_code=200, responses=problem_responses(400)
)
def enable_webhook(
    webhook_id: uuid.UUID, principal: WebhooksManage, session: SessionDep, ctx: ContextDep
) -> WebhookEndpoint:
    """Resume deliveries (the URL is checked again)."""
    endpoint = _load(session, webhook_id, principal)
    return webhooks.set_active(
        session, endpoint, active=True, actor=principal.actor, allow_loopback=ctx.settings.webhook_allow_loopback
    )


@router.delete("/webhooks/{webhook_id}", status_code=204, response_model=None)
def delete_webhook(webhook_id: uuid.UUID, principal: WebhooksManage, session: SessionDep) -> None:
    """Remove the endpoint, its secrets and its delivery log."""
    webhooks.delete(session, _load(session, webhook_id, principal), actor=principal.actor)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveriesPublic, status_code=200)
def deliveries(
    webhook_id: uuid.UUID, principal: WebhooksRead, session: SessionDep, page: PageQuery
) -> DeliveriesPublic:
    """The delivery log, newest first."""
    _load(session, webhook_id, principal)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == webhook_id)
    query = pages.keyset(query, page, WebhookDelivery.created_at, WebhookDelivery.id)
    rows, next_cursor = pages.finish(session.scalars(query).all(), page, lambda d: (d.created_at, d.id))
    return DeliveriesPublic(data=[DeliveryPublic.model_validate(r) for r in rows], next_cursor=next_cursor)
