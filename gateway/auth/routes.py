"""/v1/auth and /v1/oauth routes: thin, the logic is in ``gateway.auth.service``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from gateway.api.deps import ContextDep, Public, SessionDep, StepUp
from gateway.api.errors import problem_responses
from gateway.api.middleware import client_ip
from gateway.api.permits import Account
from gateway.auth import service
from gateway.auth.schemas import (
    ClientToken,
    Credentials,
    EnrollConfirm,
    Enrollment,
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    StepUpPublic,
    StepUpRequest,
    TokenPair,
)
from gateway.exceptions import InvalidRequest, PermissionDenied

router = APIRouter(tags=["auth"], responses=problem_responses(400, 401, 403, 413, 422, 429))


def _login_limit(ctx: ContextDep, request: Request, email: str) -> None:
    ctx.limiter.hit(ctx.settings.rate_limit_login, "login-ip", client_ip(request))
    ctx.limiter.hit(ctx.settings.rate_limit_login, "login-user", email.strip().lower())


@router.post(
    "/auth/enroll", response_model=Enrollment, status_code=200, responses=problem_responses(409), dependencies=[Public]
)
def enroll(body: Credentials, ctx: ContextDep, session: SessionDep, request: Request) -> Enrollment:
    """Start TOTP enrollment (users without a confirmed authenticator). Shows the secret and recovery codes once."""
    _login_limit(ctx, request, body.email)
    return service.enroll(ctx, session, email=body.email, password=body.password, ip=client_ip(request))


@router.post(
    "/auth/enroll/confirm",
    response_model=TokenPair,
    status_code=200,
    responses=problem_responses(409),
    dependencies=[Public],
)
def confirm_enrollment(body: EnrollConfirm, ctx: ContextDep, session: SessionDep, request: Request) -> TokenPair:
    """Confirm enrollment with a first TOTP code; logs in."""
    _login_limit(ctx, request, body.email)
    return service.confirm_enrollment(
        ctx, session, email=body.email, password=body.password, code=body.totp_code, ip=client_ip(request)
    )


@router.post("/auth/login", response_model=TokenPair, status_code=200, dependencies=[Public])
def login(body: LoginRequest, ctx: ContextDep, session: SessionDep, request: Request) -> TokenPair:
    """Password and TOTP (or a recovery code): an access token and a refresh token."""
    _login_limit(ctx, request, body.email)
    return service.login(
        ctx,
        session,
        email=body.email,
        password=body.password,
        totp_code=body.totp_code,
        recovery_code=body.recovery_code,
        ip=client_ip(request),
    )


@router.post("/auth/refresh", response_model=TokenPair, status_code=200, dependencies=[Public])
def refresh(body: RefreshRequest, ctx: ContextDep, session: SessionDep, request: Request) -> TokenPair:
    """Exchange a refresh token for a new pair. Each refresh token works once; reuse ends the session."""
    ctx.limiter.hit(ctx.settings.rate_limit_login, "refresh-ip", client_ip(request))
    return service.refresh(ctx, session, refresh_token=body.refresh_token)


@router.post("/auth/logout", status_code=204, response_model=None)
def logout(principal: Account, session: SessionDep, everywhere: bool = False) -> None:
    """End the current session: its access and refresh tokens stop working. ``everywhere=true``: every session of
    the user, in each browser and device (a lost laptop, a shared screen)."""
    if principal.session_id is None:
        raise PermissionDenied("API clients have no session")
    if everywhere:
        service.logout_everywhere(session, user_id=principal.id)
    else:
        service.logout(session, session_id=principal.session_id)


@router.post("/auth/step-up", response_model=StepUpPublic, status_code=200)
def step_up(
    body: StepUpRequest, principal: Account, ctx: ContextDep, session: SessionDep, request: Request
) -> StepUpPublic:
    """Prove a fresh TOTP code; signing, whitelist and key operations need one from the last few minutes."""
    if principal.session_id is None:
        raise PermissionDenied("API clients cannot step up")
    valid_until = service.step_up(
        ctx, session, user_id=principal.id, session_id=principal.session_id, code=body.totp_code, ip=client_ip(request)
    )
    return StepUpPublic(valid_until=valid_until)


@router.post("/auth/password", status_code=204, response_model=None)
def change_password(
    body: PasswordChange, principal: Account, _: StepUp, ctx: ContextDep, session: SessionDep, request: Request
) -> None:
    """Change the password (step-up); every other session of the user ends."""
    assert principal.session_id is not None
    service.change_password(
        ctx,
        session,
        user_id=principal.id,
        session_id=principal.session_id,
        current=body.current_password,
        new=body.new_password,
        ip=client_ip(request),
    )


@router.post("/oauth/token", response_model=ClientToken, status_code=200, dependencies=[Public])
def oauth_token(
    grant_type: Annotated[str, Form(max_length=32)],
    client_id: Annotated[str, Form(max_length=64)],
    client_secret: Annotated[str, Form(max_length=128)],
    ctx: ContextDep,
    session: SessionDep,
    request: Request,
    scope: Annotated[str | None, Form(max_length=512)] = None,
) -> ClientToken:
    """OAuth2 client credentials grant (RFC 6749 section 4.4)."""
    ctx.limiter.hit(ctx.settings.rate_limit_login, "oauth-ip", client_ip(request))
    ctx.limiter.hit(ctx.settings.rate_limit_login, "oauth-client", client_id)
    if grant_type != "client_credentials":
        raise InvalidRequest("unsupported_grant_type")
    return service.client_token(ctx, session, client_id=client_id, client_secret=client_secret, scope=scope)
