"""/v1/me, /v1/organizations, their people and invitations (members own their people)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gateway.access.permissions import Permission
from gateway.api.deps import ContextDep, PageQuery, Principal, Public, SessionDep, StepUp, require
from gateway.api.errors import problem_responses
from gateway.api.middleware import client_ip
from gateway.api.permits import Account, OrgsManage, OrgsRead, UsersManage, UsersRead
from gateway.auth.schemas import Enrollment
from gateway.db.models import Organization, Role, User
from gateway.exceptions import NotFound, PermissionDenied
from gateway.members import invitations, service
from gateway.members.models import Invitation
from gateway.members.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    InvitationPublic,
    InvitationsPublic,
    KycActionRequest,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationsPublic,
    RoleChange,
    UserPublic,
    UsersPublic,
)
from gateway.settlement import registry
from gateway.settlement.hub import OptionalHubDep

router = APIRouter(tags=["members"], responses=problem_responses(401, 403, 404, 413, 422, 429))


def load_organization(org_id: uuid.UUID, principal: OrgsRead, session: SessionDep) -> Organization:
    """The organization, if the caller may see it; otherwise 404 (its existence is not disclosed)."""
    org = session.get(Organization, org_id)
    if org is None or not principal.can_see(org.id):
        raise NotFound("organization not found")
    return org


OrganizationDep = Annotated[Organization, Depends(load_organization)]


def load_user(user_id: uuid.UUID, org: OrganizationDep, session: SessionDep) -> User:
    user = session.get(User, user_id)
    if user is None or user.organization_id != org.id:
        raise NotFound("user not found")
    return user


UserDep = Annotated[User, Depends(load_user)]


@router.get("/me", response_model=UserPublic, status_code=200)
def me(principal: Account, session: SessionDep) -> User:
    """The signed-in user."""
    if principal.kind != "user":
        raise PermissionDenied("API clients have no user profile")
    user = session.get(User, principal.id)
    assert user is not None
    return user


@router.post("/organizations", response_model=OrganizationPublic, status_code=201, responses=problem_responses(409))
def create_organization(body: OrganizationCreate, principal: OrgsManage, session: SessionDep) -> Organization:
    """Onboard a member organization (operator admin); then invite its first administrator."""
    return service.create_organization(session, actor=principal.actor, data=body)


@router.get("/organizations", response_model=OrganizationsPublic, status_code=200)
def list_organizations(
    principal: OrgsRead,
    session: SessionDep,
    page: PageQuery,
) -> OrganizationsPublic:
    """Operator staff see every member; a member sees itself."""
    rows, next_cursor = service.list_organizations(
        session, visible_to=None if principal.is_operator else principal.organization_id, page=page
    )
    return OrganizationsPublic(data=[OrganizationPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/organizations/{org_id}", response_model=OrganizationPublic, status_code=200)
def get_organization(org: OrganizationDep) -> Organization:
    return org


@router.post(
    "/organizations/{org_id}/invitations",
    response_model=InvitationCreated,
    status_code=201,
    responses=problem_responses(400, 409),
)
def invite(
    body: InvitationCreate, principal: UsersManage, _: StepUp, org: OrganizationDep, session: SessionDep
) -> InvitationCreated:
    """Invite a person (step-up). A member's administrators invite its people; the operator admin invites only a
    member's first administrator. The token is shown once: the invitee accepts it at ``/v1/invitations/accept``."""
    return invitations.invite(
        session,
        actor=principal.actor,
        organization=org,
        inviter_org=principal.organization_id,
        permissions=principal.permissions,
        data=body,
    )


@router.get("/organizations/{org_id}/invitations", response_model=InvitationsPublic, status_code=200)
def list_invitations(
    principal: UsersRead, org: OrganizationDep, session: SessionDep, page: PageQuery
) -> InvitationsPublic:
    rows, next_cursor = invitations.list_invitations(session, organization_id=org.id, page=page)
    return InvitationsPublic(data=[InvitationPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/organizations/{org_id}/invitations/{invitation_id}/revoke",
    response_model=InvitationPublic,
    status_code=200,
    responses=problem_responses(409),
)
def revoke_invitation(
    invitation_id: uuid.UUID, principal: UsersManage, _: StepUp, org: OrganizationDep, session: SessionDep
) -> Invitation:
    """Withdraw an open invitation (the organization's administrators, or the operator for one it sent)."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.organization_id != org.id:
        raise NotFound("invitation not found")
    if org.id != principal.organization_id and invitation.invited_by != principal.actor:
        raise PermissionDenied("only the organization's administrators manage its invitations")
    return invitations.revoke(session, actor=principal.actor, invitation=invitation)


@router.post(
    "/invitations/accept",
    response_model=Enrollment,
    status_code=200,
    responses=problem_responses(400, 401, 409),
    dependencies=[Public],
)
def accept_invitation(body: InvitationAccept, ctx: ContextDep, session: SessionDep, request: Request) -> Enrollment:
    """Accept an invitation with a password of one's own: answers the TOTP secret and recovery codes (once);
    confirm with a first code at ``/v1/auth/enroll/confirm``. Each token works once and expires."""
    ctx.limiter.hit(ctx.settings.rate_limit_login, "invitation-ip", client_ip(request))
    return invitations.accept(ctx, session, token=body.token, password=body.password, ip=client_ip(request))


@router.get("/organizations/{org_id}/users", response_model=UsersPublic, status_code=200)
def list_users(principal: UsersRead, org: OrganizationDep, session: SessionDep, page: PageQuery) -> UsersPublic:
    users, next_cursor = service.list_users(session, organization_id=org.id, page=page)
    return UsersPublic(data=[UserPublic.model_validate(u) for u in users], next_cursor=next_cursor)


@router.post(
    "/organizations/{org_id}/users/{user_id}/role",
    response_model=UserPublic,
    status_code=200,
    responses=problem_responses(400, 409),
)
def change_role(
    body: RoleChange, principal: UsersManage, _: StepUp, org: OrganizationDep, user: UserDep, session: SessionDep
) -> User:
    """Give a person of the organization another role (its administrators, step-up)."""
    invitations.check_manages(
        organization=org, manager_org=principal.organization_id, manager_id=principal.id, user=user
    )
    return invitations.set_role(session, actor=principal.actor, organization=org, user=user, role=Role(body.role))


@router.post(
    "/organizations/{org_id}/users/{user_id}/deactivate",
    response_model=UserPublic,
    status_code=200,
    responses=problem_responses(409),
)
def deactivate_user(
    principal: UsersManage, _: StepUp, org: OrganizationDep, user: UserDep, session: SessionDep
) -> User:
    """Deactivate a person of the organization (its administrators, step-up); their sessions end at once."""
    invitations.check_manages(
        organization=org, manager_org=principal.organization_id, manager_id=principal.id, user=user
    )
    return service.deactivate_user(session, actor=principal.actor, user=user)


def _kyc_action(action: str):  # type: ignore[no-untyped-def]
    def route(
        body: KycActionRequest,
        principal: Annotated[Principal, Depends(require(Permission.KYC_REVIEW))],
        _: StepUp,
        org: OrganizationDep,
        ctx: ContextDep,
        session: SessionDep,
        hub: OptionalHubDep,
    ) -> OrganizationPublic:
        queued = service.change_kyc_state(
            ctx,
            session,
            actor=principal.actor,
            organization=org,
            action=action,
            reason=body.reason,
            outbox=registry.registry_outbox(hub),
        )
        public = OrganizationPublic.model_validate(org)
        public.settlement_id = queued.id if queued is not None else None
        return public

    route.__name__ = f"{action}_organization"
    route.__doc__ = (
        f"{action.capitalize()} a member's KYC status, here at once and on chain through the outbox "
        "(``settlement_id``; compliance officer, step-up)."
    )
    return route


for _action in ("revoke", "freeze", "unfreeze"):
    router.add_api_route(
        f"/organizations/{{org_id}}/kyc/{_action}",
        _kyc_action(_action),
        methods=["POST"],
        response_model=OrganizationPublic,
        status_code=200,
        responses=problem_responses(409, 502),
    )
