"""Middleware: request size limit, security headers, per-IP rate limit, audit of state-changing requests.

Only authenticated callers' requests enter the audit chain: anyone can send requests, and an entry per anonymous
request would let anyone grow the chain (and the anchoring it needs) at will. Anonymous state-changing requests go
to the access log (``gateway.access``) and, like every request, to the request metrics."""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api import bounded_json, idempotency
from gateway.api.bounded_json import InvalidJson, parsed_as_json
from gateway.api.errors import gateway_error_response
from gateway.chain import guard
from gateway.context import GatewayContext
from gateway.db import audit_log
from gateway.db.held import HoldableSession, holds
from gateway.exceptions import GatewayError, IdempotentReplay, PayloadTooLarge

logger = logging.getLogger(__name__)
access_log = logging.getLogger("gateway.access")

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; frame-ancestors 'none'"
)
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Refused before reaching any route (flooding): recording them would let anyone grow the log at will.
UNAUDITED = frozenset({413, 429})


class BodySizeLimit:
    """Refuse bodies over ``limit`` bytes (by Content-Length up front, and by counting chunked bodies), and JSON
    bodies beyond the bounds of ``gateway.api.bounded_json``, before any route or parser sees them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            response = gateway_error_response(request, PayloadTooLarge(f"the body limit is {self.limit} bytes"))
            await response(scope, receive, send)
            return
        # Bodies are small (the limit is kilobytes): read the whole body first, counting, then replay it.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.limit:
                response = gateway_error_response(request, PayloadTooLarge(f"the body limit is {self.limit} bytes"))
                await response(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body.strip() and parsed_as_json(request.headers.get("content-type")):
            try:
                bounded_json.decode(body)
            except InvalidJson as exc:
                await gateway_error_response(request, exc)(scope, receive, send)
                return
        scope.setdefault("state", {})["body_sha256"] = hashlib.sha256(body).hexdigest()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


API_HEADERS = _encoded({**SECURITY_HEADERS, "Content-Security-Policy": API_CSP})
DOCS_HEADERS = _encoded({**SECURITY_HEADERS, "Content-Security-Policy": DOCS_CSP})


class RequestGuard:
    """Per-IP rate limit, security headers, closing the request's database sessions, and the audit record (with
    the remembered idempotent answer) of every state-changing request.

    Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``, which runs the app in a second task and streams the
    response through a memory channel: that costs more than a cached read. A state-changing request's answer is
    held until its audit record is written, so nothing is acknowledged that the audit trail does not hold."""

    def __init__(self, app: ASGIApp, ctx: GatewayContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        owner = guard.request_began()
        try:
            await self._handle(scope, receive, send)
        finally:
            guard.request_ended(owner)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        audited = scope["method"] in STATE_CHANGING
        extra = DOCS_HEADERS if scope["path"] in ("/docs", "/redoc") else API_HEADERS
        held: list[Message] = []
        started = False

        async def respond(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in extra if item[0] not in present)
                message = {**message, "headers": headers}
            if audited:
                held.append(message)
            else:
                await send(message)

        failed = True
        try:
            try:
                self.ctx.limiter.hit(self.ctx.settings.rate_limit_ip, "ip", client_ip(request))
                await self.app(scope, receive, respond)
            except GatewayError as exc:
                if started:
                    raise
                await gateway_error_response(request, exc)(scope, receive, respond)
            failed = False
        except BaseException:
            idempotency.release(request)  # an unhandled failure: nothing is stored, the key is free again
            raise
        finally:
            sessions = scope.get("state", {}).get("db_sessions", [])
            # A held session (a keyed request's work) stays open for its answer and audit entry, unless it failed.
            closing = [s for s in sessions if failed or not audited or not holds(s)]
            if closing and self.ctx.inline_reads:
                _close_all(closing)  # SQLite: ending a transaction is in-process work, cheaper than a thread hop
            elif closing:
                await run_in_threadpool(_close_all, closing)
        if audited:
            kept = [s for s in sessions if s not in closing]
            try:
                replay = await self._audit(request, held, kept)
            finally:
                _close_all(kept)
                idempotency.release(request)
            if replay is not None:  # a duplicate in another process committed first: send its answer
                held.clear()
                await gateway_error_response(request, replay)(scope, receive, respond)
            for message in held:
                await send(message)

    async def _audit(self, request: Request, held: list[Message], kept: list[Session]) -> IdempotentReplay | None:
        start = held[0] if held and held[0]["type"] == "http.response.start" else None
        status = int(start["status"]) if start else 500
        if status in UNAUDITED:
            return None
        headers = Headers(raw=start["headers"]) if start else Headers()
        actor = getattr(request.state, "actor", None)
        if actor is None:
            ip = client_ip(request)
            access_log.info("anonymous %s %s -> %d from %s", request.method, request.url.path, status, ip)
            if kept:  # not reached: sessions are held only for authenticated callers
                await run_in_threadpool(_close_all, kept)
            return None
        remembered = None
        if idempotency.request_key(request, strict=False) and "idempotent-replayed" not in headers:
            body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
            remembered = (headers.get("content-type", "application/json"), body)
        return await run_in_threadpool(_audit_request, self.ctx, actor, request, status, remembered, kept)


def _close_all(sessions: list[Session]) -> None:
    for session in sessions:
        session.close()


def _audit_request(
    ctx: GatewayContext,
    actor: str,
    request: Request,
    status: int,
    remembered: tuple[str, bytes] | None,
    kept: list[Session],
) -> IdempotentReplay | None:
    """The request's audit entry, with its idempotent answer and its held work in the same transaction."""

    def audit(session: Session) -> None:
        audit_log.append(
            session,
            actor=actor,
            action=f"http.{request.method.lower()}",
            object_type="request",
            object_id=request.url.path[:100],
            change={"method": request.method, "path": request.url.path, "status": status},
        )

    held = next((s for s in kept if isinstance(s, HoldableSession)), None)
    for other in kept:
        if other is not held:
            other.close()  # a second write session of one request: its work is not kept (one transaction only)
    session = held if held is not None else ctx.sessions()
    assert isinstance(session, HoldableSession)
    kept_work = session.kept_work
    replay = idempotency.settle(session, request, actor=actor, status=status, answer=remembered, audit=audit)
    if kept_work and replay is None:
        hub = getattr(request.app.state, "hub", None)
        if hub is not None:
            hub.notify()  # the relayer may have looked before this commit
    return replay
