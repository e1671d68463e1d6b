"""Organizations and users; revocation, freeze and unfreeze pushed to the on-chain registry."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.access.permissions import MEMBER_ROLES, OPERATOR_ROLES
from gateway.auth import passwords
from gateway.context import GatewayContext
from gateway.db import audit_log, pages
from gateway.db.models import KycStatus, Organization, Role, User
from gateway.exceptions import Conflict, InvalidRequest
from gateway.members.schemas import OrganizationCreate
from gateway.settlement import registry
from gateway.settlement.market import Market
from gateway.settlement_records.models import Settlement


def create_organization(
    session: Session, *, actor: str, data: OrganizationCreate, is_operator: bool = False
) -> Organization:
    if session.execute(select(Organization).where(Organization.lei == data.lei)).scalar_one_or_none():
        raise Conflict("an organization with this LEI exists")
    org = Organization(name=data.name, lei=data.lei, jurisdiction=data.jurisdiction, is_operator=is_operator)
    session.add(org)
    session.flush()
    audit_log.append(
        session,
        actor=actor,
        action="organization.created",
        object_type="organization",
        object_id=str(org.id),
        change=data.model_dump(),
    )
    session.commit()
    return org


def list_organizations(
    session: Session, *, visible_to: uuid.UUID | None, page: pages.PageParams
) -> tuple[list[Organization], str | None]:
    query = select(Organization)
    if visible_to is not None:
        query = query.where(Organization.id == visible_to)
    query = pages.keyset(query, page, Organization.created_at, Organization.id)
    return pages.finish(session.scalars(query).all(), page, lambda o: (o.created_at, o.id))


def create_user(
    ctx: GatewayContext,
    session: Session,
    *,
    actor: str,
    organization: Organization,
    email: str,
    full_name: str,
    role: Role,
    password: str,
    commit: bool = True,
) -> User:
    """A person of ``organization``. Reached only by accepting an invitation, and by the bootstrap of the first
    operator administrator (CLI, tests): there is no API that creates a person with someone else's password."""
    allowed = OPERATOR_ROLES if organization.is_operator else MEMBER_ROLES
    if role not in allowed:
        raise InvalidRequest(f"role {role.value} is not available in this organization")
    email = email.strip().lower()
    if session.execute(select(User).where(User.email == email)).scalar_one_or_none():
        raise Conflict("a user with this email exists")
    user = User(
        organization_id=organization.id,
        email=email,
        full_name=full_name,
        role=role.value,
        password_hash=passwords.hash_password(ctx.settings, password),
    )
    session.add(user)
    session.flush()
    audit_log.append(
        session,
        actor=actor,
        action="user.created",
        object_type="user",
        object_id=str(user.id),
        change={"email": email, "role": role.value, "organization_id": str(organization.id)},
    )
    if commit:
        session.commit()
    return user


def list_users(
    session: Session, *, organization_id: uuid.UUID, page: pages.PageParams
) -> tuple[list[User], str | None]:
    query = pages.keyset(select(User).where(User.organization_id == organization_id), page, User.created_at, User.id)
    return pages.finish(session.scalars(query).all(), page, lambda u: (u.created_at, u.id))


KYC_ACTIONS = {"revoke": KycStatus.REVOKED, "freeze": KycStatus.FROZEN, "unfreeze": KycStatus.APPROVED}


def _check_kyc_action(organization: Organization, action: str) -> None:
    if action == "revoke" and organization.kyc_status == KycStatus.REVOKED.value:
        raise Conflict("already revoked")
    if action == "freeze" and organization.kyc_status != KycStatus.APPROVED.value:
        raise Conflict("only an approved member can be frozen")
    if action == "unfreeze" and organization.kyc_status != KycStatus.FROZEN.value:
        raise Conflict("the member is not frozen")


def change_kyc_state(
    ctx: GatewayContext,
    session: Session,
    *,
    actor: str,
    organization: Organization,
    action: str,
    reason: str,
    outbox: Market | None = None,
) -> Settlement | None:
    """Revoke, freeze or unfreeze a member.

    With the outbox (``outbox``: a relayer sends the registry's writes) our record changes and the registry's
    transaction is queued in one database transaction; the settlement is returned (None when the member has no
    identity on chain yet: its registration's finality hook carries a freeze or revocation over). The gateway
    acts on the new status at once (the custody door reads it); the chain follows when the settlement is final.

    Without it (an in-memory registry) the registry is written first, with no database transaction open: the state
    is checked, the read ends, the chain is written, and the record changes only if the state is still the one
    checked (else 409)."""
    if action not in KYC_ACTIONS:  # pragma: no cover - routes only pass the three below
        raise InvalidRequest(action)
    _check_kyc_action(organization, action)
    if outbox is not None:
        organization.kyc_status = KYC_ACTIONS[action].value
        queued = registry.kyc_action(session, outbox, organization=organization, action=action, actor=actor)
        _audit_kyc_action(session, actor, organization, action, reason, queued)
        session.commit()
        return queued
    identity = organization.onchain_identity_id
    session.commit()  # ends the read: no database lock is held across the chain's transaction
    if identity is not None:
        {
            "revoke": ctx.chain.revoke_identity,
            "freeze": ctx.chain.freeze_identity,
            "unfreeze": ctx.chain.unfreeze_identity,
        }[action](identity_id=identity)
    session.refresh(organization)
    _check_kyc_action(organization, action)
    organization.kyc_status = KYC_ACTIONS[action].value
    _audit_kyc_action(session, actor, organization, action, reason, None)
    session.commit()
    return None


def _audit_kyc_action(
    session: Session, actor: str, organization: Organization, action: str, reason: str, queued: Settlement | None
) -> None:
    change: dict[str, str | int | None] = {
        "reason": reason,
        "kyc_status": organization.kyc_status,
        "identity_id": organization.onchain_identity_id,
    }
    if queued is not None:
        change["settlement"] = str(queued.id)
    audit_log.append(
        session,
        actor=actor,
        action=f"kyc.{action}",
        object_type="organization",
        object_id=str(organization.id),
        change=change,
    )


def bootstrap_operator(
    ctx: GatewayContext,
    session: Session,
    *,
    name: str,
    lei: str,
    jurisdiction: str,
    email: str,
    full_name: str,
    password: str,
    role: Role = Role.OPERATOR_ADMIN,
) -> User:
    """First operator organization and its admin (CLI and tests)."""
    org = session.execute(select(Organization).where(Organization.lei == lei)).scalar_one_or_none()
    if org is None:
        org = create_organization(
            session,
            actor="system:bootstrap",
            is_operator=True,
            data=OrganizationCreate(name=name, lei=lei, jurisdiction=jurisdiction),
        )
    return create_user(
        ctx,
        session,
        actor="system:bootstrap",
        organization=org,
        email=email,
        full_name=full_name,
        role=role,
        password=password,
    )


def deactivate_user(session: Session, *, actor: str, user: User) -> User:
    """Deactivate a user: no more logins, and every live session ends at once."""
    from gateway.auth.service import revoke_user_sessions

    if not user.is_active:
        raise Conflict("already inactive")
    user.is_active = False
    revoke_user_sessions(session, user_id=user.id, reason="user_deactivated")
    audit_log.append(
        session, actor=actor, action="user.deactivated", object_type="user", object_id=str(user.id), change={}
    )
    session.commit()
    return user
