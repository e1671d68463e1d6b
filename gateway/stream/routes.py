"""/v1/stream: the WebSocket stream of a member's repo lifecycle events (authenticated, organization-scoped, Origin
checked, resumable with ``since``; it ends with its session). It replays the events the indexer stored and forwards
what the hub's bus publishes, so it sits above the indexer and settlement's tables; webhooks, which the indexer feeds,
stay in ``gateway.events``."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import or_, select
from starlette.concurrency import run_in_threadpool

from gateway.access.permissions import Permission
from gateway.api import bounded_json
from gateway.api.bounded_json import InvalidJson
from gateway.api.deps import Principal, declares
from gateway.api.errors import problem_responses
from gateway.context import GatewayContext
from gateway.exceptions import GatewayError, NotAuthenticated, PermissionDenied
from gateway.settlement_records.models import RepoEvent, RepoRecord

router = APIRouter(tags=["events"], responses=problem_responses(401, 403, 404, 422, 429))
POLICY_VIOLATION = 1008
INVALID_PAYLOAD = 1007  # a message that is not JSON within bounds


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
