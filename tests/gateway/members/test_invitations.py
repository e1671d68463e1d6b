"""Members own their people: the operator onboards a member and invites its first administrator; the invitee
chooses the password and enrols TOTP; afterwards only the member's administrators invite, re-role and deactivate
its people. The operator cannot create a member's users, act for them, or manage them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp

from gateway.db.models import User
from gateway.members.models import Invitation
from tests.gateway.conftest import PASSWORD, Cast, Member, World, lei

OWN_PASSWORD = "a passphrase only I know"


def _invite(inviter: Member, org_id: uuid.UUID | str, email: str, role: str) -> Any:
    return inviter.post(
        f"/v1/organizations/{org_id}/invitations", json={"email": email, "full_name": email.split("@")[0], "role": role}
    )


def _accept(world: World, token: str, password: str = OWN_PASSWORD) -> Any:
    return world.client.post("/v1/invitations/accept", json={"token": token, "password": password})


def _join(world: World, token: str, email: str) -> dict[str, str]:
    """Accept, enrol TOTP and confirm, as the invitee does; answers the headers of the new person's session."""
    enrollment = _accept(world, token)
    assert enrollment.status_code == 200, enrollment.text
    code = pyotp.TOTP(enrollment.json()["totp_secret"]).now()
    body = {"email": email, "password": OWN_PASSWORD, "totp_code": code}
    confirmed = world.client.post("/v1/auth/enroll/confirm", json=body)
    assert confirmed.status_code == 200, confirmed.text
    return {"Authorization": f"Bearer {confirmed.json()['access_token']}"}


def _new_member(cast: Cast) -> str:
    org = cast.admin.post("/v1/organizations", json={"name": "Bank C", "lei": lei("CLEI"), "jurisdiction": "GB"})
    assert org.status_code == 201, org.text
    return str(org.json()["id"])


def test_the_operator_invites_only_a_members_first_administrator(world: World, cast: Cast) -> None:
    org_id = _new_member(cast)
    assert _invite(cast.admin, org_id, "trader@c.example", "trader").status_code == 403
    invited = _invite(cast.admin, org_id, "admin@c.example", "member_admin")
    assert invited.status_code == 201, invited.text
    assert "password" not in invited.json() and invited.json()["token"].startswith("inv_")
    # One open invitation for an administrator is enough: the operator cannot add a second one.
    assert _invite(cast.admin, org_id, "admin2@c.example", "member_admin").status_code == 403
    c_admin = _join(world, invited.json()["token"], "admin@c.example")
    me = world.client.get("/v1/me", headers=c_admin).json()
    assert me["role"] == "member_admin" and me["organization_id"] == org_id and me["totp_confirmed"]
    # From now on the member's administrator invites its people, and the operator cannot.
    assert _invite(cast.admin, org_id, "admin3@c.example", "member_admin").status_code == 403
    trader = world.client.post(
        f"/v1/organizations/{org_id}/invitations",
        headers=c_admin,
        json={"email": "trader@c.example", "full_name": "T", "role": "trader"},
    )
    assert trader.status_code == 201, trader.text
    c_trader = _join(world, trader.json()["token"], "trader@c.example")
    assert world.client.get("/v1/me", headers=c_trader).json()["role"] == "trader"


def test_the_operator_cannot_create_manage_or_act_as_a_members_people(world: World, cast: Cast) -> None:
    org = world.orgs["a"]
    body = {"email": "mole@a.example", "full_name": "Mole", "role": "approver", "password": PASSWORD}
    assert cast.admin.post(f"/v1/organizations/{org}/users", json=body).status_code in (404, 405)
    assert _invite(cast.admin, org, "mole@a.example", "approver").status_code == 403
    assert _invite(cast.admin, org, "mole@a.example", "member_admin").status_code == 403  # A has an administrator
    victim = f"/v1/organizations/{org}/users/{cast.a_trader.id}"
    assert cast.admin.post(f"{victim}/deactivate").status_code == 403
    assert cast.admin.post(f"{victim}/role", json={"role": "approver"}).status_code == 403
    # Operator staff hold no permission that acts inside a member: no trading, signing, keys or policy.
    assert cast.admin.post("/v1/policy/drafts", json={"rules": [{"name": "all", "action": "allow"}]}).status_code == 403
    assert cast.admin.get("/v1/trades").status_code == 403
    key = {"kind": "api_key", "name": "x", "scopes": ["trades:read"]}
    assert cast.admin.post("/v1/clients", json=key).status_code == 403
    with world.ctx.sessions() as session:
        assert session.query(User).filter(User.email == "mole@a.example").count() == 0
    # Still, the operator's read-only view of a member's people.
    listed = cast.admin.get(f"/v1/organizations/{org}/users").json()
    assert {u["email"] for u in listed["data"]} >= {cast.a_trader.user.email}


def test_only_a_members_administrators_manage_its_people(world: World, cast: Cast) -> None:
    org = world.orgs["a"]
    assert _invite(cast.a_approver, org, "x@a.example", "viewer").status_code == 403
    assert _invite(cast.b_admin, org, "x@a.example", "viewer").status_code == 404  # A is invisible to B
    assert _invite(cast.a_admin, org, "x@a.example", "compliance_officer").status_code == 400
    assert _invite(cast.a_admin, org, cast.a_trader.user.email, "viewer").status_code == 409
    assert _invite(cast.a_admin, org, "x@a.example", "viewer").status_code == 201
    viewer = f"/v1/organizations/{org}/users/{cast.a_viewer.id}"
    assert cast.a_approver.post(f"{viewer}/role", json={"role": "approver"}).status_code == 403
    changed = cast.a_admin.post(f"{viewer}/role", json={"role": "trader"})
    assert changed.status_code == 200 and changed.json()["role"] == "trader"
    assert cast.a_viewer.get("/v1/me").json()["role"] == "trader"  # at once, on the same session
    own = f"/v1/organizations/{org}/users/{cast.a_admin.id}"
    assert cast.a_admin.post(f"{own}/role", json={"role": "viewer"}).status_code == 409
    assert cast.a_admin.post(f"{own}/deactivate").status_code == 409
    assert cast.a_admin.post(f"{viewer}/role", json={"role": "operator_admin"}).status_code == 400


def test_an_invitation_works_once_and_expires(world: World, cast: Cast) -> None:
    org = world.orgs["a"]
    first = _invite(cast.a_admin, org, "once@a.example", "viewer").json()
    assert _accept(world, first["token"]).status_code == 200
    again = _accept(world, first["token"], password="another passphrase here")
    assert again.status_code == 401
    late = _invite(cast.a_admin, org, "late@a.example", "viewer").json()
    with world.ctx.sessions.begin() as session:
        row = session.get(Invitation, uuid.UUID(late["id"]))
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert _accept(world, late["token"]).status_code == 401
    withdrawn = _invite(cast.a_admin, org, "withdrawn@a.example", "viewer").json()
    revoke = cast.a_admin.post(f"/v1/organizations/{org}/invitations/{withdrawn['id']}/revoke")
    assert revoke.status_code == 200 and revoke.json()["revoked_at"]
    assert _accept(world, withdrawn["token"]).status_code == 401
    assert _accept(world, "inv_" + "x" * 43).status_code == 401
    with world.ctx.sessions() as session:
        emails = {u.email for u in session.query(User).filter(User.email.like("%@a.example"))}
    assert "once@a.example" in emails and not {"late@a.example", "withdrawn@a.example"} & emails
    listed = cast.a_admin.get(f"/v1/organizations/{org}/invitations").json()
    assert len(listed["data"]) == 3 and all("token" not in i for i in listed["data"])


def test_an_invitation_token_is_never_stored_for_replay(world: World, cast: Cast) -> None:
    """The token is shown once: a retried invitation with the same Idempotency-Key is refused, not replayed."""
    from sqlalchemy import select

    from gateway.db.models import IdempotencyRecord

    path = f"/v1/organizations/{world.orgs['a']}/invitations"
    body = {"email": "retry@a.example", "full_name": "Retry", "role": "viewer"}
    headers = {**cast.a_admin.headers, "Idempotency-Key": "invite-1"}
    first = world.client.post(path, json=body, headers=headers)
    assert first.status_code == 201
    replay = world.client.post(path, json=body, headers=headers)
    assert replay.status_code == 422 and "shown only once" in replay.json()["detail"]
    with world.ctx.sessions() as session:
        record = session.execute(select(IdempotencyRecord)).scalar_one()
        assert record.body is None
    with world.ctx.sessions() as session:
        stored = session.execute(select(Invitation.token_hash)).scalars().all()
    assert first.json()["token"] not in stored  # only its digest
