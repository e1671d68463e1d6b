"""The vocabulary of routes: ``SessionDep``, ``CurrentPrincipal``, ``Authorize`` (the route's declared permission,
named once per permission in ``gateway.api.permits``), ``Public``, ``StepUp``."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.access.permissions import CLIENT_SCOPES, OPERATOR_VIEWS, ROLE_PERMISSIONS, Permission
from gateway.access.tokens import decode_access_token, hash_opaque
from gateway.api import credentials, idempotency
from gateway.api.middleware import client_ip
from gateway.context import GatewayContext
from gateway.db import audit_log, pages
from gateway.db.models import ClientKind, Role
from gateway.exceptions import NotAuthenticated, PermissionDenied, StepUpRequired


async def get_context(request: Request) -> GatewayContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, GatewayContext)
    return ctx


ContextDep = Annotated[GatewayContext, Depends(get_context)]


T = TypeVar("T")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Dependencies that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency in its thread pool, and each
# such hop costs a thread switch per request.


def _track(request: Request, session: Session) -> Session:
    """The HTTP middleware closes the request's sessions as soon as the route returns, before it writes the
    request's audit entry (on SQLite an open write transaction holds the database's write lock)."""
    request.state.db_sessions = [*getattr(request.state, "db_sessions", []), session]
    return session


async def get_read_session(request: Request, ctx: ContextDep) -> Session:
    """A read-only session: authentication and GET routes, which must not queue behind writers."""
    return _track(request, ctx.read_sessions())


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


async def get_write_session(request: Request, ctx: ContextDep) -> Session:
    """A session that may write, whatever the method (a GET that also expires what is overdue). A keyed request's
    write session commits only with its answer (gateway.api.idempotency)."""
    session = _track(request, ctx.sessions())
    request.state.write_sessions = [*getattr(request.state, "write_sessions", []), session]
    idempotency.hold_if_keyed(request, session)
    return session


WriteSessionDep = Annotated[Session, Depends(get_write_session)]


async def get_session(request: Request, ctx: ContextDep, read: ReadSessionDep) -> Session:
    """The route's session: the read-only one for GET and HEAD, a write session for state-changing methods."""
    if request.method in SAFE_METHODS:
        return read
    return await get_write_session(request, ctx)


SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a human user (with a login session) or an API client, and what it may do."""

    kind: str  # "user" | "client"
    id: uuid.UUID
    organization_id: uuid.UUID
    is_operator: bool
    permissions: frozenset[Permission]
    role: Role | None = None
    session_id: uuid.UUID | None = None
    mfa_at: datetime | None = None  # when the login session last proved a TOTP code (step-up)

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id}"

    def can_see(self, organization_id: uuid.UUID) -> bool:
        """Operator staff see every member; a member sees only itself."""
        return self.is_operator or organization_id == self.organization_id


bearer = HTTPBearer(auto_error=False, description="Access token from /v1/auth/login or /v1/oauth/token")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key (rnk_...)")


def _check_ip(client: credentials.ClientRecord, ip: str) -> None:
    if not client.ip_allowlist:
        return
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise PermissionDenied("client address not allowed") from None
    if not any(address in ipaddress.ip_network(net, strict=False) for net in client.ip_allowlist):
        raise PermissionDenied("client address not allowed")


def _client_principal(client: credentials.ClientRecord | None, kind: ClientKind, ip: str) -> Principal:
    now = datetime.now(UTC)
    if client is None or client.kind != kind.value or client.revoked or client.expires_at <= now:
        raise NotAuthenticated("unknown, revoked or expired credentials")
    _check_ip(client, ip)
    return Principal(
        kind="client",
        id=client.id,
        organization_id=client.organization_id,
        is_operator=False,  # operator staff act as people, never through keys
        # A client holds its scopes and nothing else: every route, read or write, checks its permission.
        permissions=frozenset(Permission(s) for s in client.scopes if s in CLIENT_SCOPES),
    )


async def get_principal(
    request: Request,
    ctx: ContextDep,
    session: ReadSessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    """Who is calling. With SQLite and in-memory rate limits this is in-process work that never waits (a WAL
    read snapshot takes no lock), so it runs on the event loop: a hop to the thread pool would cost more than the
    lookup. A database or rate-limit store over the network is asked from the thread pool."""
    if ctx.inline_reads:
        return _resolve_principal(request, ctx, session, credentials, api_key)
    return await run_in_threadpool(_resolve_principal, request, ctx, session, credentials, api_key)


async def read_view(ctx: GatewayContext, view: Callable[..., T], *args: Any) -> T:
    """Run a read-only view: on the event loop where reads are in-process and never wait (``inline_reads``),
    else in the thread pool. For ``async`` GET routes whose work is a few indexed reads."""
    if ctx.inline_reads:
        return view(*args)
    return await run_in_threadpool(view, *args)


def _resolve_principal(
    request: Request,
    ctx: GatewayContext,
    session: Session,
    credentials: HTTPAuthorizationCredentials | None,
    api_key: str | None,
) -> Principal:
    ip = client_ip(request)
    if api_key:
        principal, _ = principal_of_api_key(session, api_key, ip)
    elif credentials is not None:
        principal, _ = principal_of_token(ctx, session, credentials.credentials, ip)
    else:
        raise NotAuthenticated("credentials required")
    if request.url.path.startswith(LEASES_PATH):  # a service's heartbeats: a budget of their own (rate_limit_lease)
        ctx.limiter.hit(ctx.settings.rate_limit_lease, f"lease-{principal.kind}", str(principal.id))
    elif request.url.path in MATCHING_PATHS:  # the matching service's answers, one per instruction: their own budget
        ctx.limiter.hit(ctx.settings.rate_limit_matching, f"matching-{principal.kind}", str(principal.id))
    else:
        ctx.limiter.hit(ctx.settings.rate_limit_principal, principal.kind, str(principal.id))
    request.state.actor = principal.actor
    idempotency.replay_if_seen(session, request, principal.actor)
    return principal


LEASES_PATH = "/v1/leases/"
MATCHING_PATHS = frozenset({"/v1/gc/instructions", "/v1/gc/outcomes"})
API_KEY_PREFIX = "rnk_"  # API keys are opaque "rnk_..." secrets; access tokens are JWTs


def principal_of_api_key(session: Session, api_key: str, ip: str) -> tuple[Principal, int]:
    """The principal of an API key (its scopes are its permissions) and when the key expires."""
    client = credentials.client_by_secret(session, hash_opaque(api_key))
    principal = _client_principal(client, ClientKind.API_KEY, ip)
    assert client is not None
    return principal, int(client.expires_at.timestamp())


def principal_of_token(ctx: GatewayContext, session: Session, token: str, ip: str) -> tuple[Principal, int]:
    """The principal of a bearer access token and when the token expires, for REST and the WebSocket alike:
    a user's live session, or an OAuth2 client narrowed to the token's scopes."""
    claims = decode_access_token(ctx.settings, token)
    try:
        subject = uuid.UUID(claims.subject)
    except ValueError:
        raise NotAuthenticated("invalid subject") from None
    if claims.kind != "client":
        return _user_principal(session, subject, claims.session_id), claims.expires_at
    principal = _client_principal(credentials.client_by_id(session, subject), ClientKind.OAUTH_CLIENT, ip)
    granted = frozenset(Permission(s) for s in claims.scopes if s in principal.permissions)
    principal = Principal(
        kind="client",
        id=principal.id,
        organization_id=principal.organization_id,
        is_operator=False,
        permissions=granted,
    )
    return principal, claims.expires_at


def _user_principal(session: Session, user_id: uuid.UUID, session_id: str | None) -> Principal:
    if session_id is None:
        raise NotAuthenticated("token has no session")
    try:
        sid = uuid.UUID(session_id)
    except ValueError:
        raise NotAuthenticated("invalid session") from None
    row = credentials.session_record(session, sid, user_id)
    if row is None or row.revoked:
        raise NotAuthenticated("session ended")
    if not row.is_active:
        raise NotAuthenticated("user inactive")
    role = Role(row.role)
    return Principal(
        kind="user",
        id=user_id,
        organization_id=row.organization_id,
        is_operator=bool(row.is_operator),
        permissions=ROLE_PERMISSIONS[role],
        role=role,
        session_id=sid,
        mfa_at=row.mfa_at,
    )


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


class Authorize:
    """A route's declared permission, as a dependency: passes the principal on if it holds ``permission``.

    Every route declares one (or ``Public``); the authorization matrix test reads these declarations from the
    route table, so a route without one fails it. People hold their role's permissions, API keys and OAuth2
    tokens their scopes: a scope limits reads as well as writes."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, request: Request, principal: CurrentPrincipal) -> Principal:
        if self.permission not in principal.permissions:
            raise PermissionDenied(f"missing permission {self.permission.value}")
        if principal.is_operator and self.permission in OPERATOR_VIEWS and request.method in SAFE_METHODS:
            await _audit_operator_view(request, principal)
        return principal

    def __repr__(self) -> str:
        return f"Authorize({self.permission.value})"


async def _audit_operator_view(request: Request, principal: Principal) -> None:
    """Operator staff read members' data only through read-only views, and each view is in the audit chain
    (once per request, before the data is read)."""
    if getattr(request.state, "operator_view", False):
        return
    request.state.operator_view = True
    ctx = request.app.state.ctx
    assert isinstance(ctx, GatewayContext)

    def record() -> None:
        with ctx.sessions.begin() as session:
            audit_log.append(
                session,
                actor=principal.actor,
                action="operator.view",
                object_type="request",
                object_id=request.url.path[:100],
                change={"path": request.url.path, "query": str(request.url.query)[:200]},
            )

    await run_in_threadpool(record)


_AUTHORIZE: dict[Permission, Authorize] = {}


def require(permission: Permission) -> Authorize:
    """The one ``Authorize`` dependency of ``permission``."""
    return _AUTHORIZE.setdefault(permission, Authorize(permission))


async def public() -> None:
    """Declares a route open to anyone (sign-in, invitation acceptance, health): it has no permission to check."""


Public = Depends(public)

F = TypeVar("F", bound=Callable[..., Any])


def declares(permission: Permission) -> Callable[[F], F]:
    """Marks a WebSocket endpoint with the permission it checks itself (WebSocket routes take no ``Authorize``
    dependency: they authenticate after ``accept``, from the header or the first message)."""

    def mark(endpoint: F) -> F:
        setattr(endpoint, "declared_permission", permission)  # noqa: B010 - an attribute mypy cannot see
        return endpoint

    return mark


async def require_step_up(principal: CurrentPrincipal, ctx: ContextDep) -> Principal:
    """Signing, whitelist changes and key operations need a TOTP code from the last few minutes."""
    if principal.kind != "user" or principal.session_id is None or principal.mfa_at is None:
        raise StepUpRequired("this operation needs a person with a fresh TOTP code")
    if principal.mfa_at < datetime.now(UTC) - timedelta(seconds=ctx.settings.step_up_seconds):
        raise StepUpRequired("confirm with a fresh TOTP code at /v1/auth/step-up")
    return principal


StepUp = Annotated[Principal, Depends(require_step_up)]


def page_params(
    cursor: Annotated[
        str | None, Query(max_length=400, description="``next_cursor`` of the previous page; omit for the first")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=pages.MAX_LIMIT)] = 50,
    order: pages.Order = pages.Order.NEWEST,
) -> pages.PageParams:
    """A list's paging parameters (see ``gateway.db.pages``): newest first unless ``order=oldest``."""
    return pages.PageParams(cursor=cursor, limit=limit, order=order)


PageQuery = Annotated[pages.PageParams, Depends(page_params)]
