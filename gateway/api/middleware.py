"""Middleware: request size limit, security headers, per-IP rate limit, audit of state-changing requests."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api import idempotency
from gateway.api.errors import gateway_error_response
from gateway.audit import log as audit_log
from gateway.context import GatewayContext
from gateway.exceptions import GatewayError, PayloadTooLarge

logger = logging.getLogger(__name__)

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
    """Refuse bodies over ``limit`` bytes: by Content-Length up front, and by counting chunked bodies."""

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


def make_http_middleware(
    ctx: GatewayContext,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        try:
            ctx.limiter.hit(ctx.settings.rate_limit_ip, "ip", client_ip(request))
            response = await call_next(request)
        except GatewayError as exc:
            response = gateway_error_response(request, exc)
        except BaseException:
            idempotency.release(request)  # an unhandled failure: nothing is stored, the key is free again
            raise
        finally:
            sessions = getattr(request.state, "db_sessions", [])
            if sessions and ctx.inline_reads:
                _close_all(sessions)  # SQLite: ending a transaction is in-process work, cheaper than a thread hop
            elif sessions:
                await run_in_threadpool(_close_all, sessions)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        docs = request.url.path in ("/docs", "/redoc")
        response.headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else API_CSP)
        if request.method in STATE_CHANGING and response.status_code not in UNAUDITED:
            actor = getattr(request.state, "actor", None)
            remembered = None
            if (
                actor
                and idempotency.request_key(request, strict=False)
                and "idempotent-replayed" not in response.headers
            ):
                body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
                response = Response(body, status_code=response.status_code, headers=dict(response.headers))
                remembered = (response.headers.get("content-type", "application/json"), body)
            try:
                await run_in_threadpool(
                    _audit_request,
                    ctx,
                    actor or f"anonymous:{client_ip(request)}",
                    request,
                    response.status_code,
                    remembered,
                )
            finally:
                idempotency.release(request)
        return response

    return middleware


def _close_all(sessions: list[Session]) -> None:
    for session in sessions:
        session.close()


def _audit_request(
    ctx: GatewayContext, actor: str, request: Request, status: int, remembered: tuple[str, bytes] | None
) -> None:
    with ctx.sessions.begin() as session:
        if remembered is not None:
            idempotency.remember(session, request, actor, status, remembered[0], remembered[1])
        audit_log.append(
            session,
            actor=actor,
            action=f"http.{request.method.lower()}",
            object_type="request",
            object_id=request.url.path[:100],
            change={"method": request.method, "path": request.url.path, "status": status},
        )
