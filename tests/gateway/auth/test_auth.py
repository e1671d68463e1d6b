"""Passwords, TOTP (replay, lockout, recovery), JWT validation, refresh rotation, logout, step-up."""

import time
import uuid

import jwt
import pyotp
import pytest
from sqlalchemy import select

from gateway.auth import passwords
from gateway.db.models import AuthSession, User
from gateway.keys.envelope import unseal_small
from tests.gateway.conftest import PASSWORD, Cast, Member, World


def _secret(member: Member) -> str:
    with member.world.ctx.sessions() as session:
        user = session.get(User, member.id)
        assert user is not None and user.totp_secret_enc is not None
        return unseal_small(member.world.ctx.keys, owner=f"user-totp/{user.id}", blob=user.totp_secret_enc).decode()


def _login(member: Member, code: str | None = None, **extra: str) -> int:
    body = {"email": member.user.email, "password": PASSWORD, **extra}
    if code is not None:
        body["totp_code"] = code
    return int(member.client.post("/v1/auth/login", json=body).status_code)


def test_login_requires_totp(cast: Cast) -> None:
    assert _login(cast.a_viewer) == 401
    assert _login(cast.a_viewer, cast.a_viewer.totp_now()) == 200


def test_totp_code_accepted_once_per_step(cast: Cast) -> None:
    code = cast.a_viewer.totp_now()
    assert _login(cast.a_viewer, code) == 200
    assert _login(cast.a_viewer, code) == 401  # replay of the same step


def test_unenrolled_user_cannot_log_in(world: World) -> None:
    from gateway.db.models import Organization, Role
    from gateway.members import service

    with world.ctx.sessions() as session:
        org = session.get(Organization, world.orgs["a"])
        assert org is not None
        service.create_user(
            world.ctx,
            session,
            actor="test",
            organization=org,
            email="new@a.example",
            full_name="New",
            role=Role.VIEWER,
            password=PASSWORD,
        )
    response = world.client.post("/v1/auth/login", json={"email": "new@a.example", "password": PASSWORD})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/mfa-required")
    # A started but unconfirmed enrollment does not count either, whatever code is sent.
    secret = world.client.post("/v1/auth/enroll", json={"email": "new@a.example", "password": PASSWORD}).json()
    code = pyotp.TOTP(secret["totp_secret"]).now()
    body = {"email": "new@a.example", "password": PASSWORD, "totp_code": code}
    response = world.client.post("/v1/auth/login", json=body)
    assert response.status_code == 401
    assert response.json()["type"].endswith("/mfa-required")


def test_recovery_codes_are_hashed_and_single_use(world: World) -> None:
    from gateway.db.models import Organization, RecoveryCode, Role
    from gateway.members import service

    with world.ctx.sessions() as session:
        org = session.get(Organization, world.orgs["a"])
        assert org is not None
        service.create_user(
            world.ctx,
            session,
            actor="test",
            organization=org,
            email="rc@a.example",
            full_name="RC",
            role=Role.VIEWER,
            password=PASSWORD,
        )
    enrollment = world.client.post("/v1/auth/enroll", json={"email": "rc@a.example", "password": PASSWORD}).json()
    code = pyotp.TOTP(enrollment["totp_secret"]).now()
    assert (
        world.client.post(
            "/v1/auth/enroll/confirm", json={"email": "rc@a.example", "password": PASSWORD, "totp_code": code}
        ).status_code
        == 200
    )
    recovery = enrollment["recovery_codes"][0]
    with world.ctx.sessions() as session:
        stored = [r.code_hash for r in session.execute(select(RecoveryCode)).scalars()]
    assert recovery not in stored and recovery.replace("-", "") not in stored
    body = {"email": "rc@a.example", "password": PASSWORD, "recovery_code": recovery}
    assert world.client.post("/v1/auth/login", json=body).status_code == 200
    assert world.client.post("/v1/auth/login", json=body).status_code == 401


def test_enrollment_cannot_be_restarted_once_confirmed(cast: Cast, world: World) -> None:
    response = world.client.post("/v1/auth/enroll", json={"email": cast.a_viewer.user.email, "password": PASSWORD})
    assert response.status_code == 409


def test_password_rehashed_when_parameters_rise(cast: Cast, world: World) -> None:
    with world.ctx.sessions() as session:
        before = session.execute(select(User.password_hash).where(User.id == cast.a_viewer.id)).scalar_one()
    assert "t=1," in before
    world.ctx.settings.argon2_time_cost = 2
    try:
        assert _login(cast.a_viewer, cast.a_viewer.totp_now()) == 200
    finally:
        world.ctx.settings.argon2_time_cost = 1
    with world.ctx.sessions() as session:
        after = session.execute(select(User.password_hash).where(User.id == cast.a_viewer.id)).scalar_one()
    assert after.startswith("$argon2id$") and "t=2," in after
    ok, _ = passwords.verify_password(world.ctx.settings, after, PASSWORD)
    assert ok


def _claims(world: World, member: Member) -> dict[str, object]:
    settings = world.ctx.settings
    token = member.tokens["access_token"]
    return dict(jwt.decode(token, settings.jwt_secret, algorithms=["HS256"], audience=settings.jwt_audience))


def test_jwt_alg_none_rejected(cast: Cast, world: World) -> None:
    claims = _claims(world, cast.a_viewer)
    forged = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]
    response = world.client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_jwt_other_algorithm_rejected(cast: Cast, world: World) -> None:
    claims = _claims(world, cast.a_viewer)
    forged = jwt.encode(claims, world.ctx.settings.jwt_secret, algorithm="HS512")
    assert world.client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_jwt_wrong_audience_rejected(cast: Cast, world: World) -> None:
    claims = _claims(world, cast.a_viewer) | {"aud": "some-other-service"}
    forged = jwt.encode(claims, world.ctx.settings.jwt_secret, algorithm="HS256")
    assert world.client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_jwt_expired_rejected(cast: Cast, world: World) -> None:
    now = int(time.time())
    claims = _claims(world, cast.a_viewer) | {"iat": now - 600, "nbf": now - 600, "exp": now - 10}
    forged = jwt.encode(claims, world.ctx.settings.jwt_secret, algorithm="HS256")
    assert world.client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_jwt_wrong_key_rejected(cast: Cast, world: World) -> None:
    claims = _claims(world, cast.a_viewer)
    forged = jwt.encode(claims, "x" * 48, algorithm="HS256")
    assert world.client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_valid_jwt_accepted(cast: Cast) -> None:
    assert cast.a_viewer.get("/v1/me").status_code == 200


def test_refresh_rotates_and_reuse_revokes_family(cast: Cast, world: World) -> None:
    first = cast.a_viewer.login()
    second = world.client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    # The old refresh token is presented again (stolen copy): the whole family dies.
    reuse = world.client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert world.client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert world.client.get("/v1/me", headers=headers).status_code == 401
    with world.ctx.sessions() as session:
        reasons = {s.revoked_reason for s in session.execute(select(AuthSession)).scalars()}
    assert "refresh_token_reuse" in reasons


def test_logout_revokes_access_and_refresh(cast: Cast, world: World) -> None:
    tokens = cast.a_viewer.login()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert world.client.post("/v1/auth/logout", headers=headers).status_code == 204
    assert world.client.get("/v1/me", headers=headers).status_code == 401
    assert world.client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_logout_everywhere_ends_every_session_of_the_user_only(cast: Cast, world: World) -> None:
    first = cast.a_viewer.login()
    second = cast.a_viewer.login()  # another browser
    other = cast.a_approver.login()  # another person
    headers = [{"Authorization": f"Bearer {t['access_token']}"} for t in (first, second, other)]
    assert all(world.client.get("/v1/me", headers=h).status_code == 200 for h in headers)
    assert world.client.post("/v1/auth/logout?everywhere=true", headers=headers[0]).status_code == 204
    assert [world.client.get("/v1/me", headers=h).status_code for h in headers] == [401, 401, 200]
    for tokens in (first, second):
        assert world.client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def _age_session(world: World, member: Member, seconds: int) -> None:
    from datetime import UTC, datetime, timedelta

    claims = _claims(world, member)
    with world.ctx.sessions.begin() as session:
        auth_session = session.get(AuthSession, uuid.UUID(str(claims["sid"])))
        assert auth_session is not None
        auth_session.mfa_at = datetime.now(UTC) - timedelta(seconds=seconds)


def test_step_up_required_for_key_operations(cast: Cast, world: World) -> None:
    member = cast.a_approver
    member.login()
    assert member.post("/v1/wallets", json={"label": "fresh"}).status_code == 201  # login counts as fresh
    _age_session(world, member, world.ctx.settings.step_up_seconds + 5)
    stale = member.post("/v1/wallets", json={"label": "stale"})
    assert stale.status_code == 403
    assert stale.json()["type"].endswith("/step-up-required")
    assert member.post("/v1/auth/step-up", json={"totp_code": "000000"}).status_code == 401
    assert member.post("/v1/auth/step-up", json={"totp_code": member.totp_now()}).status_code == 200
    assert member.post("/v1/wallets", json={"label": "after step-up"}).status_code == 201


def test_step_up_code_cannot_be_replayed(cast: Cast, world: World) -> None:
    member = cast.a_approver
    member.login()
    code = member.totp_now()
    assert member.post("/v1/auth/step-up", json={"totp_code": code}).status_code == 200
    assert member.post("/v1/auth/step-up", json={"totp_code": code}).status_code == 401


@pytest.mark.parametrize("path", ["/v1/wallets", "/v1/clients"])
def test_api_keys_cannot_step_up(cast: Cast, world: World, path: str) -> None:
    key = _create_client(cast.a_admin, "api_key", ["wallets:read", "kyc:read", "kyc:submit", "orgs:read"])
    body = {"label": "x"} if path == "/v1/wallets" else {"kind": "api_key", "name": "n", "scopes": ["kyc:read"]}
    response = world.client.post(path, json=body, headers={"X-API-Key": key["secret"]})
    assert response.status_code == 403


def _create_client(member: Member, kind: str, scopes: list[str], **extra: object) -> dict[str, object]:
    response = member.post("/v1/clients", json={"kind": kind, "name": "integration", "scopes": scopes, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_api_key_shown_once_hashed_scoped_revocable(cast: Cast, world: World) -> None:
    from gateway.db.models import ApiClient

    created = _create_client(cast.a_admin, "api_key", ["wallets:read"])
    secret = str(created["secret"])
    headers = {"X-API-Key": secret}
    assert world.client.get("/v1/wallets", headers=headers).status_code == 200
    assert world.client.get("/v1/kyc/applications", headers=headers).status_code == 403  # not in scope
    listed = cast.a_admin.get(f"/v1/clients/{created['id']}").json()
    assert "secret" not in listed
    with world.ctx.sessions() as session:
        row = session.get(ApiClient, uuid.UUID(str(created["id"])))
        assert row is not None and row.secret_hash != secret and secret not in row.secret_hash
    assert cast.a_admin.post(f"/v1/clients/{created['id']}/revoke").status_code == 200
    assert world.client.get("/v1/wallets", headers=headers).status_code == 401


def test_api_key_expiry_and_ip_allowlist(cast: Cast, world: World) -> None:
    from datetime import UTC, datetime, timedelta

    from gateway.db.models import ApiClient

    allowed = _create_client(cast.a_admin, "api_key", ["wallets:read"], ip_allowlist=["203.0.113.0/24"])
    # The test client connects from "testclient", outside the allowlist.
    assert world.client.get("/v1/wallets", headers={"X-API-Key": str(allowed["secret"])}).status_code == 403
    created = _create_client(cast.a_admin, "api_key", ["wallets:read"])
    with world.ctx.sessions.begin() as session:
        row = session.get(ApiClient, uuid.UUID(str(created["id"])))
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert world.client.get("/v1/wallets", headers={"X-API-Key": str(created["secret"])}).status_code == 401


def test_viewer_cannot_create_api_keys(cast: Cast) -> None:
    response = cast.a_viewer.post("/v1/clients", json={"kind": "api_key", "name": "x", "scopes": ["kyc:read"]})
    assert response.status_code == 403


def test_api_key_scopes_cannot_exceed_client_scopes(cast: Cast) -> None:
    response = cast.a_admin.post("/v1/clients", json={"kind": "api_key", "name": "x", "scopes": ["kyc:review"]})
    assert response.status_code == 422


def test_oauth_client_credentials(cast: Cast, world: World) -> None:
    created = _create_client(cast.a_admin, "oauth_client", ["wallets:read", "kyc:read"])
    form = {"grant_type": "client_credentials", "client_id": created["id"], "client_secret": created["secret"]}
    token = world.client.post("/v1/oauth/token", data={**form, "scope": "wallets:read"})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert world.client.get("/v1/wallets", headers=headers).status_code == 200
    assert world.client.get("/v1/kyc/applications", headers=headers).status_code == 403  # narrowed scope
    assert world.client.post("/v1/oauth/token", data={**form, "scope": "kyc:review"}).status_code == 400
    bad = world.client.post("/v1/oauth/token", data={**form, "client_secret": "rnc_wrong"})
    assert bad.status_code == 401
    # An API key's secret does not work as a client secret, and revocation ends issued tokens.
    cast.a_admin.post(f"/v1/clients/{created['id']}/revoke")
    assert world.client.get("/v1/wallets", headers=headers).status_code == 401


def test_totp_secret_encrypted_at_rest(cast: Cast, world: World, tmp_path: object) -> None:
    from pathlib import Path

    secret = _secret(cast.a_viewer)
    raw = b"".join(p.read_bytes() for p in Path(str(tmp_path)).glob("gateway.db*"))
    assert secret.encode() not in raw


def test_password_change_needs_current_password_and_ends_other_sessions(cast: Cast, world: World) -> None:
    member = cast.a_viewer
    other = dict(member.login())
    member.login()
    wrong = member.post("/v1/auth/password", json={"current_password": "nope", "new_password": "n" * 16})
    assert wrong.status_code == 401
    member.login()
    changed = member.post("/v1/auth/password", json={"current_password": PASSWORD, "new_password": "n" * 16})
    assert changed.status_code == 204
    assert member.get("/v1/me").status_code == 200  # this session lives on
    assert world.client.get("/v1/me", headers={"Authorization": f"Bearer {other['access_token']}"}).status_code == 401
    assert _login(member, member.totp_now()) == 401  # the old password no longer works


def test_deactivated_user_is_locked_out_at_once(cast: Cast, world: World) -> None:
    victim = cast.a_trader
    assert victim.get("/v1/me").status_code == 200
    path = f"/v1/organizations/{world.orgs['a']}/users/{victim.id}/deactivate"
    assert cast.a_approver.post(path).status_code == 403
    assert cast.admin.post(path).status_code == 403  # the operator does not manage a member's people
    assert cast.a_admin.post(path).status_code == 200
    assert victim.get("/v1/me").status_code == 401
    assert _login(victim, victim.totp_now()) == 401
    # Its sessions are revoked, not just suspended: reactivation does not bring old tokens back.
    with world.ctx.sessions.begin() as session:
        user = session.get(User, victim.id)
        assert user is not None
        user.is_active = True
    assert victim.get("/v1/me").status_code == 401


def test_verified_token_cache_honours_expiry_and_revocation(cast: Cast, world: World) -> None:
    """A token verified once is not verified again, but its expiry and its login session still decide: the cached
    token is refused once ``exp`` passes, and once its session is revoked (fails if a hit skipped either check)."""
    from gateway.access import tokens
    from gateway.exceptions import NotAuthenticated

    settings = world.ctx.settings
    short, _ = tokens.issue_access_token(
        settings, subject=str(uuid.uuid4()), kind="user", organization_id="o", lifetime=1
    )
    claims = tokens.decode_access_token(settings, short)  # verified, now cached
    assert tokens.decode_access_token(settings, short) is claims
    while time.time() < claims.expires_at:  # the condition waited on is the token's own expiry (at most a second)
        time.sleep(0.05)
    with pytest.raises(NotAuthenticated):
        tokens.decode_access_token(settings, short)

    pair = cast.a_viewer.login()
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert world.client.get("/v1/me", headers=headers).status_code == 200  # verified, now cached
    assert world.client.post("/v1/auth/logout", headers=headers).status_code == 204
    assert world.client.get("/v1/me", headers=headers).status_code == 401
