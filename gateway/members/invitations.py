"""Invitations and the people of an organization: members own their people.

The operator onboards a member and invites its first administrator; from then on only the member's own
administrators invite, re-role and deactivate its people. The invitee sets the password and enrols TOTP, so no one
else ever holds a member person's credentials."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.access.permissions import MEMBER_ROLES, OPERATOR_ROLES, Permission
from gateway.access.tokens import hash_opaque, new_opaque
from gateway.auth import service as auth_service
from gateway.auth.schemas import Enrollment
from gateway.context import GatewayContext
from gateway.db import audit_log, pages
from gateway.db.models import Organization, Role, User
from gateway.exceptions import Conflict, InvalidRequest, NotAuthenticated, PermissionDenied
from gateway.members.models import Invitation
from gateway.members.schemas import InvitationCreate, InvitationCreated, InvitationPublic
from gateway.members.service import create_user

INVITATION_LIFETIME = timedelta(days=3)
INVALID_INVITATION = "invalid, used or expired invitation"


def _now() -> datetime:
    return datetime.now(UTC)


def _roles_of(organization: Organization) -> frozenset[Role]:
    return OPERATOR_ROLES if organization.is_operator else MEMBER_ROLES


def _has_admin(session: Session, organization_id: uuid.UUID) -> bool:
    """An active member administrator, or an open invitation for one."""
    users = session.execute(
        select(func.count()).where(
            User.organization_id == organization_id, User.role == Role.MEMBER_ADMIN.value, User.is_active.is_(True)
        )
    ).scalar_one()
    pending = session.execute(
        select(func.count()).where(
            Invitation.organization_id == organization_id,
            Invitation.role == Role.MEMBER_ADMIN.value,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > _now(),
        )
    ).scalar_one()
    return bool(users or pending)


def check_may_invite(
    session: Session,
    *,
    organization: Organization,
    inviter_org: uuid.UUID,
    permissions: frozenset[Permission],
    role: Role,
) -> None:
    """An organization's administrators invite its people; the operator invites only a member's first
    administrator (or a new one when the member has none left)."""
    if role not in _roles_of(organization):
        raise InvalidRequest(f"role {role.value} is not available in this organization")
    if organization.id == inviter_org:
        if Permission.USERS_MANAGE not in permissions:
            raise PermissionDenied("missing permission users:manage")
        return
    if Permission.ORGS_MANAGE not in permissions:
        raise PermissionDenied("only the organization's administrators invite its people")
    if role is not Role.MEMBER_ADMIN:
        raise PermissionDenied("the operator invites only a member's first administrator")
    if _has_admin(session, organization.id):
        raise PermissionDenied("the member has an administrator: its administrators invite its people")


def invite(
    session: Session,
    *,
    actor: str,
    organization: Organization,
    inviter_org: uuid.UUID,
    permissions: frozenset[Permission],
    data: InvitationCreate,
) -> InvitationCreated:
    check_may_invite(
        session, organization=organization, inviter_org=inviter_org, permissions=permissions, role=data.role
    )
    email = data.email.strip().lower()
    if session.execute(select(User.id).where(User.email == email)).scalar_one_or_none() is not None:
        raise Conflict("a user with this email exists")
    token, token_hash = new_opaque("inv")
    invitation = Invitation(
        organization_id=organization.id,
        email=email,
        full_name=data.full_name,
        role=data.role.value,
        token_hash=token_hash,
        invited_by=actor,
        expires_at=_now() + INVITATION_LIFETIME,
    )
    session.add(invitation)
    session.flush()
    audit_log.append(
        session,
        actor=actor,
        action="invitation.created",
        object_type="invitation",
        object_id=str(invitation.id),
        change={"email": email, "role": data.role.value, "organization_id": str(organization.id)},
    )
    session.commit()
    return InvitationCreated(**InvitationPublic.model_validate(invitation).model_dump(), token=token)


def accept(ctx: GatewayContext, session: Session, *, token: str, password: str, ip: str) -> Enrollment:
    """Claim the invitation (once, atomically), create the person with the password they chose, and start their
    TOTP enrollment; they finish it at ``/v1/auth/enroll/confirm`` like anyone else."""
    invitation = session.execute(
        select(Invitation).where(Invitation.token_hash == hash_opaque(token))
    ).scalar_one_or_none()
    if invitation is None or invitation.revoked_at is not None or invitation.expires_at <= _now():
        raise NotAuthenticated(INVALID_INVITATION)
    claimed = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=_now())
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        session.rollback()
        raise NotAuthenticated(INVALID_INVITATION)
    organization = session.get(Organization, invitation.organization_id)
    assert organization is not None
    user = create_user(
        ctx,
        session,
        actor=f"invitation:{invitation.id}",
        organization=organization,
        email=invitation.email,
        full_name=invitation.full_name,
        role=Role(invitation.role),
        password=password,
        commit=False,
    )
    invitation.user_id = user.id
    audit_log.append(
        session,
        actor=f"user:{user.id}",
        action="invitation.accepted",
        object_type="invitation",
        object_id=str(invitation.id),
        change={"user_id": str(user.id)},
    )
    session.flush()
    return auth_service.enroll(ctx, session, email=user.email, password=password, ip=ip)


def list_invitations(
    session: Session, *, organization_id: uuid.UUID, page: pages.PageParams
) -> tuple[list[Invitation], str | None]:
    query = select(Invitation).where(Invitation.organization_id == organization_id)
    query = pages.keyset(query, page, Invitation.created_at, Invitation.id)
    return pages.finish(session.scalars(query).all(), page, lambda i: (i.created_at, i.id))


def revoke(session: Session, *, actor: str, invitation: Invitation) -> Invitation:
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise Conflict("the invitation is no longer open")
    invitation.revoked_at = _now()
    audit_log.append(
        session,
        actor=actor,
        action="invitation.revoked",
        object_type="invitation",
        object_id=str(invitation.id),
        change={},
    )
    session.commit()
    return invitation


def check_manages(*, organization: Organization, manager_org: uuid.UUID, manager_id: uuid.UUID, user: User) -> None:
    """Only the organization's own administrators manage its people, and never themselves (no self-lockout)."""
    if organization.id != manager_org:
        raise PermissionDenied("only the organization's administrators manage its people")
    if user.id == manager_id:
        raise Conflict("administrators cannot change or deactivate themselves")


def set_role(session: Session, *, actor: str, organization: Organization, user: User, role: Role) -> User:
    if role not in _roles_of(organization):
        raise InvalidRequest(f"role {role.value} is not available in this organization")
    previous = user.role
    user.role = role.value
    audit_log.append(
        session,
        actor=actor,
        action="user.role_changed",
        object_type="user",
        object_id=str(user.id),
        change={"from": previous, "to": role.value},
    )
    session.commit()
    return user
