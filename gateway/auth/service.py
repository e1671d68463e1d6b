"""Login with password and TOTP, enrollment, refresh-token rotation, logout, step-up, client tokens."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.access.permissions import Permission
from gateway.access.tokens import hash_opaque, issue_access_token, new_opaque
from gateway.auth import passwords, throttle, totp
from gateway.auth.schemas import ClientToken, Enrollment, TokenPair
from gateway.context import GatewayContext
from gateway.db import audit_log
from gateway.db.models import ApiClient, AuthSession, ClientKind, RecoveryCode, RefreshToken, User
from gateway.exceptions import Conflict, InvalidRequest, MfaRequired, NotAuthenticated
from gateway.keys.envelope import seal_small, unseal_small

BAD_CREDENTIALS = "invalid email, password or code"
security_log = logging.getLogger("gateway.security")


def _now() -> datetime:
    return datetime.now(UTC)


def _totp_owner(user: User) -> str:
    return f"user-totp/{user.id}"


def _load_user(session: Session, email: str) -> User | None:
    return session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()


def _throttles(ctx: GatewayContext, session: Session, email: str, ip: str) -> list[throttle.Throttle]:
    """The account's and the address's backoff; 429 while either waits, before any credential is looked at."""
    throttles = [throttle.account(ctx.settings, email), throttle.address(ctx.settings, ip)]
    throttle.check(session, throttles)
    return throttles


def _check_password(
    ctx: GatewayContext, session: Session, email: str, password: str, throttles: list[throttle.Throttle]
) -> User:
    """Verify the password (upgrading its hash if parameters rose). Unknown, inactive and wrong all fail alike."""
    user = _load_user(session, email)
    if user is None or not user.is_active:
        passwords.burn_time(ctx.settings, password)
        _fail(ctx, session, throttles, "password", user)
    assert user is not None
    ok, new_hash = passwords.verify_password(ctx.settings, user.password_hash, password)
    if not ok:
        _fail(ctx, session, throttles, "password", user)
    if new_hash is not None:
        user.password_hash = new_hash
    return user


def _fail(
    ctx: GatewayContext, session: Session, throttles: list[throttle.Throttle], what: str, user: User | None
) -> NoReturn:
    """Count the failure against the backoff and answer as for any bad credentials. A failure against an account
    that exists is attributable: it goes on the audit chain (``auth.login_failed`` on the user, for surveillance's
    repeated-failures rule) in the same commit as the backoff; one against no account is anonymous and goes only to
    the security log (see ``gateway.api.middleware``). The answer is the same either way."""
    throttle.fail(session, ctx.settings, throttles)
    if user is not None:
        audit_log.append(
            session,
            actor="anonymous",
            action="auth.login_failed",
            object_type="user",
            object_id=str(user.id),
            change={"what": what},
        )
    session.commit()
    security_log.info("sign-in failed (%s) for %s", what, ", ".join(t.key for t in throttles))
    raise NotAuthenticated(BAD_CREDENTIALS)


def _check_totp(
    ctx: GatewayContext, session: Session, user: User, code: str, throttles: list[throttle.Throttle]
) -> None:
    """Accept a code once per time step: the step must be later than the last one used."""
    assert user.totp_secret_enc is not None
    secret = unseal_small(ctx.keys, owner=_totp_owner(user), blob=user.totp_secret_enc).decode()
    step = totp.matching_step(secret, code)
    if step is None or step <= user.totp_last_step:
        _fail(ctx, session, throttles, "totp", user)
    user.totp_last_step = step


def _use_recovery_code(
    ctx: GatewayContext, session: Session, user: User, code: str, throttles: list[throttle.Throttle]
) -> None:
    row = session.execute(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == totp.hash_recovery_code(code),
            RecoveryCode.used_at.is_(None),
        )
    ).scalar_one_or_none()
    if row is None:
        _fail(ctx, session, throttles, "recovery_code", user)
    assert row is not None
    row.used_at = _now()


def enroll(ctx: GatewayContext, session: Session, *, email: str, password: str, ip: str) -> Enrollment:
    """Start (or restart) TOTP enrollment for a user who has not confirmed one yet."""
    throttles = _throttles(ctx, session, email, ip)
    user = _check_password(ctx, session, email, password, throttles)
    if user.totp_confirmed:
        raise Conflict("TOTP is already enrolled")
    secret = totp.new_secret()
    user.totp_secret_enc = seal_small(ctx.keys, owner=_totp_owner(user), plaintext=secret.encode(), session=session)
    codes = totp.new_recovery_codes()
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(c)) for c in codes)
    audit_log.append(
        session,
        actor=f"user:{user.id}",
        action="auth.enroll_started",
        object_type="user",
        object_id=str(user.id),
        change={},
    )
    session.commit()
    return Enrollment(
        totp_secret=secret,
        provisioning_uri=totp.provisioning_uri(secret, email=user.email, issuer=ctx.settings.totp_issuer),
        recovery_codes=codes,
    )


def confirm_enrollment(
    ctx: GatewayContext, session: Session, *, email: str, password: str, code: str, ip: str
) -> TokenPair:
    throttles = _throttles(ctx, session, email, ip)
    user = _check_password(ctx, session, email, password, throttles)
    if user.totp_confirmed or user.totp_secret_enc is None:
        raise Conflict("no enrollment in progress")
    _check_totp(ctx, session, user, code, throttles)
    user.totp_confirmed = True
    audit_log.append(
        session,
        actor=f"user:{user.id}",
        action="auth.enrolled",
        object_type="user",
        object_id=str(user.id),
        change={},
    )
    return _start_session(ctx, session, user, throttles)


def login(
    ctx: GatewayContext,
    session: Session,
    *,
    email: str,
    password: str,
    totp_code: str | None,
    recovery_code: str | None,
    ip: str,
) -> TokenPair:
    throttles = _throttles(ctx, session, email, ip)
    user = _check_password(ctx, session, email, password, throttles)
    if not user.totp_confirmed:
        session.commit()
        raise MfaRequired("enroll TOTP first at /v1/auth/enroll")
    if totp_code:
        _check_totp(ctx, session, user, totp_code, throttles)
    elif recovery_code:
        _use_recovery_code(ctx, session, user, recovery_code, throttles)
    else:
        raise MfaRequired("a TOTP code or recovery code is required")
    return _start_session(ctx, session, user, throttles)


def _start_session(ctx: GatewayContext, session: Session, user: User, throttles: list[throttle.Throttle]) -> TokenPair:
    throttle.clear(session, throttles[:1])  # the account's failures; the address's stay
    auth_session = AuthSession(id=uuid.uuid4(), user_id=user.id, mfa_at=_now())
    session.add(auth_session)
    session.flush()
    audit_log.append(
        session,
        actor=f"user:{user.id}",
        action="auth.login",
        object_type="session",
        object_id=str(auth_session.id),
        change={},
    )
    pair = _issue_pair(ctx, session, user, auth_session)
    session.commit()
    return pair


def _issue_pair(ctx: GatewayContext, session: Session, user: User, auth_session: AuthSession) -> TokenPair:
    access, ttl = issue_access_token(
        ctx.settings,
        subject=str(user.id),
        kind="user",
        organization_id=str(user.organization_id),
        session_id=str(auth_session.id),
    )
    refresh, refresh_hash = new_opaque("rt")
    session.add(
        RefreshToken(
            session_id=auth_session.id,
            token_hash=refresh_hash,
            expires_at=_now() + timedelta(seconds=ctx.settings.refresh_token_seconds),
        )
    )
    return TokenPair(access_token=access, expires_in=ttl, refresh_token=refresh)


def refresh(ctx: GatewayContext, session: Session, *, refresh_token: str) -> TokenPair:
    """Rotate: each refresh token works once. Presenting a used one revokes its whole family (session)."""
    row = session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == hash_opaque(refresh_token))
    ).scalar_one_or_none()
    if row is None:
        raise NotAuthenticated("unknown refresh token")
    auth_session = session.get(AuthSession, row.session_id)
    assert auth_session is not None
    if auth_session.revoked_at is not None:
        raise NotAuthenticated("session ended")
    # Claim the token atomically: only one concurrent refresh can win.
    claimed = session.execute(
        update(RefreshToken).where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None)).values(used_at=_now())
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        _end_session(session, auth_session, "refresh_token_reuse")
        session.commit()
        raise NotAuthenticated("refresh token reused: the session has been revoked")
    if row.expires_at <= _now():
        session.commit()
        raise NotAuthenticated("refresh token expired")
    user = session.get(User, auth_session.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("user inactive")
    pair = _issue_pair(ctx, session, user, auth_session)
    session.commit()
    return pair


def _end_session(session: Session, auth_session: AuthSession, reason: str) -> None:
    auth_session.revoked_at = _now()
    auth_session.revoked_reason = reason
    audit_log.append(
        session,
        actor=f"user:{auth_session.user_id}",
        action=f"auth.session_revoked.{reason}",
        object_type="session",
        object_id=str(auth_session.id),
        change={"reason": reason},
    )


def logout(session: Session, *, session_id: uuid.UUID) -> None:
    auth_session = session.get(AuthSession, session_id)
    if auth_session is not None and auth_session.revoked_at is None:
        _end_session(session, auth_session, "logout")
    session.commit()


def logout_everywhere(session: Session, *, user_id: uuid.UUID) -> None:
    revoke_user_sessions(session, user_id=user_id, reason="logout_everywhere")
    session.commit()


def step_up(
    ctx: GatewayContext, session: Session, *, user_id: uuid.UUID, session_id: uuid.UUID, code: str, ip: str
) -> datetime:
    user = session.get(User, user_id)
    auth_session = session.get(AuthSession, session_id)
    assert user is not None and auth_session is not None
    throttles = [throttle.step_up(ctx.settings, user.id), throttle.address(ctx.settings, ip)]
    throttle.check(session, throttles)
    _check_totp(ctx, session, user, code, throttles)
    throttle.clear(session, throttles[:1])
    auth_session.mfa_at = _now()
    audit_log.append(
        session,
        actor=f"user:{user.id}",
        action="auth.step_up",
        object_type="session",
        object_id=str(session_id),
        change={},
    )
    session.commit()
    return auth_session.mfa_at + timedelta(seconds=ctx.settings.step_up_seconds)


def client_token(
    ctx: GatewayContext, session: Session, *, client_id: str, client_secret: str, scope: str | None
) -> ClientToken:
    """OAuth2 client credentials grant: exchange a client's secret for a short-lived scoped token."""
    try:
        cid = uuid.UUID(client_id)
    except ValueError:
        raise NotAuthenticated("invalid client") from None
    client = session.get(ApiClient, cid)
    if (
        client is None
        or client.kind != ClientKind.OAUTH_CLIENT.value
        or client.secret_hash != hash_opaque(client_secret)
        or client.revoked_at is not None
        or client.expires_at <= _now()
    ):
        raise NotAuthenticated("invalid client")
    requested = scope.split() if scope else list(client.scopes)
    if not set(requested) <= set(client.scopes) or not set(requested) <= {p.value for p in Permission}:
        raise InvalidRequest("invalid_scope: the client may not request these scopes")
    token, ttl = issue_access_token(
        ctx.settings,
        subject=str(client.id),
        kind="client",
        organization_id=str(client.organization_id),
        scopes=tuple(requested),
        lifetime=ctx.settings.client_token_seconds,
    )
    return ClientToken(access_token=token, expires_in=ttl, scope=" ".join(requested))


def revoke_user_sessions(session: Session, *, user_id: uuid.UUID, reason: str, keep: uuid.UUID | None = None) -> int:
    """End every live session of a user (password change, deactivation), except ``keep``."""
    live = session.execute(
        select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    ).scalars()
    count = 0
    for auth_session in live:
        if auth_session.id != keep:
            _end_session(session, auth_session, reason)
            count += 1
    return count


def change_password(
    ctx: GatewayContext,
    session: Session,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    current: str,
    new: str,
    ip: str,
) -> None:
    user = session.get(User, user_id)
    assert user is not None
    _check_password(ctx, session, user.email, current, _throttles(ctx, session, user.email, ip))
    if current == new:
        raise InvalidRequest("the new password must differ")
    user.password_hash = passwords.hash_password(ctx.settings, new)
    revoke_user_sessions(session, user_id=user.id, reason="password_changed", keep=session_id)
    audit_log.append(
        session,
        actor=f"user:{user.id}",
        action="auth.password_changed",
        object_type="user",
        object_id=str(user.id),
        change={},
    )
    session.commit()
