"""/v1/stream (WebSocket: authenticated, organization-scoped, Origin checked, resumable with ``since``) and
/v1/webhooks (endpoints, secret rotation, disabling and deletion, delivery log)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from starlette.concurrency import run_in_threadpool

from gateway.api import bounded_json
from gateway.api.bounded_json import InvalidJson
from gateway.api.deps import ContextDep, PageQuery, Principal, SessionDep, declares
from gateway.api.errors import problem_responses
from gateway.api.permits import WebhooksManage, WebhooksRead
from gateway.auth.permissions import Permission
from gateway.context import GatewayContext
from gateway.db import pages
from gateway.events import webhooks
from gateway.events.models import WebhookDelivery, WebhookEndpoint
from gateway.exceptions import GatewayError, NotAuthenticated, NotFound, PermissionDenied
from gateway.settlement.models import RepoEvent, RepoRecord

router = APIRouter(tags=["events"], responses=problem_responses(401, 403, 404, 422, 429))
POLICY_VIOLATION = 1008
INVALID_PAYLOAD = 1007  # a message that is not JSON within bounds


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


def _ctx(websocket: WebSocket) -> GatewayContext:
    ctx = websocket.app.state.ctx
    assert isinstance(ctx, GatewayContext)
    return ctx


def authenticate(ctx: GatewayContext, token: str, ip: str) -> tuple[Principal, int]:
    """The principal of an access token or API key and when it expires; raises as the REST routes do when it no
    longer holds (expired, session ended by logout or revocation, user deactivated, client revoked) or lacks the
    stream's declared permission (``STREAM_PERMISSION``: a token's scopes limit the stream like any read)."""
    from gateway.api.deps import API_KEY_PREFIX, principal_of_api_key, principal_of_token

    with ctx.read_sessions() as session:
        if token.startswith(API_KEY_PREFIX):
            principal, expires_at = principal_of_api_key(session, token, ip)
        else:
            principal, expires_at = principal_of_token(ctx, session, token, ip)
    if STREAM_PERMISSION not in principal.permissions:
        raise PermissionDenied(f"missing permission {STREAM_PERMISSION.value}")
    return principal, expires_at


async def _still_valid(ctx: GatewayContext, token: str, ip: str) -> bool:
    try:
        await run_in_threadpool(authenticate, ctx, token, ip)
    except (GatewayError, ValueError):
        return False
    return True


def replay(ctx: GatewayContext, organization_id: uuid.UUID, since: int) -> list[dict[str, Any]]:
    from gateway.indexer.service import Indexer

    with ctx.sessions() as session:
        repos = select(RepoRecord.repo_id).where(
            or_(RepoRecord.seller_org_id == organization_id, RepoRecord.holder_org_id == organization_id)
        )
        rows = session.scalars(
            select(RepoEvent).where(RepoEvent.id > since, RepoEvent.repo_id.in_(repos)).order_by(RepoEvent.id)
        ).all()
        units = Indexer.units(session)
        return [Indexer.public(r, units) for r in rows]


STREAM_PERMISSION = Permission.EVENTS_READ  # the WebSocket route's declared permission


@router.websocket("/stream")
@declares(STREAM_PERMISSION)
async def stream(websocket: WebSocket, since: int | None = None) -> None:
    """Lifecycle events of the caller's organization, in chain order (permission ``events:read``). Send the access
    token in the ``Authorization: Bearer`` header, an API key in ``X-API-Key``, or either as the first message
    ``{"token": ...}``; ``since`` replays stored events after that id first. The stream ends with the session."""
    ctx = _ctx(websocket)
    origin = websocket.headers.get("origin")
    if origin is not None and origin not in {ctx.settings.public_origin, *ctx.settings.cors_origins}:
        await websocket.close(code=POLICY_VIOLATION, reason="origin not allowed")
        return
    ip = websocket.client.host if websocket.client else "unknown"
    header = websocket.headers.get("authorization", "")
    await websocket.accept()
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    token = token or websocket.headers.get("x-api-key", "").strip()
    if not token:
        try:
            first = bounded_json.decode(await asyncio.wait_for(websocket.receive_text(), timeout=5))
            token = str(first.get("token", "")) if isinstance(first, dict) else ""
        except InvalidJson as exc:
            await websocket.close(code=INVALID_PAYLOAD, reason=exc.detail[:120])
            return
        except (TimeoutError, WebSocketDisconnect, KeyError):
            token = ""
    try:
        if not token:
            raise NotAuthenticated("no token")
        principal, expires_at = await run_in_threadpool(authenticate, ctx, token, ip)
    except (GatewayError, ValueError):
        await websocket.close(code=POLICY_VIOLATION, reason="not authenticated")
        return
    hub = getattr(websocket.app.state, "hub", None)
    bus = getattr(hub, "bus", None)
    if bus is None:
        await websocket.close(code=1011, reason="no event source")
        return
    token_id, queue = bus.subscribe(principal.organization_id)
    try:
        last = -1
        await websocket.send_json({"type": "subscribed", "organization_id": str(principal.organization_id)})
        if since is not None:
            for event in await run_in_threadpool(replay, ctx, principal.organization_id, since):
                await websocket.send_json(event)
                last = max(last, int(event["id"]))

        async def watch() -> None:
            """Returns when the session ends: at the token's expiry, or when a check finds it revoked, logged out
            or its user deactivated."""
            interval = ctx.settings.stream_session_check_seconds
            while True:
                await asyncio.sleep(max(0.0, min(interval, expires_at - time.time())))
                if time.time() >= expires_at or not await _still_valid(ctx, token, ip):
                    return

        async def forward() -> None:
            """Sends events while the session holds: each event is sent only after the session is checked again."""
            while True:
                event = await queue.get()
                if time.time() >= expires_at or not await _still_valid(ctx, token, ip):
                    return
                if event["id"] is None or int(event["id"]) > last:  # null: a risk message, not a chain event
                    await websocket.send_json(event)

        async def receive() -> None:
            while True:
                await websocket.receive_text()  # pings or nothing; raises on disconnect

        tasks = [asyncio.create_task(watch()), asyncio.create_task(forward()), asyncio.create_task(receive())]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if tasks[2] not in done:  # the session ended, not the connection
            with contextlib.suppress(Exception):
                await websocket.close(code=POLICY_VIOLATION, reason="session ended")
        else:
            with contextlib.suppress(WebSocketDisconnect, Exception):
                tasks[2].result()
    finally:
        bus.unsubscribe(token_id)


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
