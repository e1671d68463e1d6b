"""Operators see members' data only through read-only views, and every such view is in the audit chain."""

from __future__ import annotations

from sqlalchemy import select

from gateway.db.models import AuditEntry
from tests.gateway.conftest import Cast, World


def _views(world: World) -> list[AuditEntry]:
    with world.ctx.sessions() as session:
        return list(session.execute(select(AuditEntry).where(AuditEntry.action == "operator.view")).scalars())


def test_every_operator_read_of_member_data_is_audited(world: World, cast: Cast) -> None:
    path = f"/v1/organizations/{world.orgs['a']}/users"
    assert cast.a_admin.get(path).status_code == 200
    assert _views(world) == []  # a member reading its own data is not an operator view
    assert cast.officer1.get(path).status_code == 200
    assert cast.admin.get("/v1/kyc/applications").status_code == 200
    views = _views(world)
    assert [(v.actor, v.object_id) for v in views] == [
        (f"user:{cast.officer1.id}", path),
        (f"user:{cast.admin.id}", "/v1/kyc/applications"),
    ]


def test_operator_views_are_read_only(world: World, cast: Cast) -> None:
    """Operator staff hold no permission that changes a member's people, keys, policy, trades or repos."""
    from gateway.access.permissions import OPERATOR_ROLES, ROLE_PERMISSIONS, P

    member_writes = {
        P.USERS_MANAGE,  # their own organization's people only (checked per object in tests/gateway/members)
        P.WALLETS_MANAGE,
        P.CLIENTS_MANAGE,
        P.POLICY_MANAGE,
        P.TRADES_WRITE,
        P.TRADES_APPROVE,
        P.WEBHOOKS_MANAGE,
    }
    for role in OPERATOR_ROLES:
        assert not (ROLE_PERMISSIONS[role] & member_writes - {P.USERS_MANAGE}), role
    assert (
        cast.admin.post(f"/v1/organizations/{world.orgs['a']}/users/{cast.a_viewer.id}/deactivate").status_code == 403
    )
