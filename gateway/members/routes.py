"""/v1/me, /v1/organizations and their users."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gateway.api.deps import ContextDep, CurrentPrincipal, Principal, SessionDep, StepUp, require
from gateway.api.errors import problem_responses
from gateway.auth.permissions import Permission
from gateway.db.models import Organization, User
from gateway.exceptions import NotFound, PermissionDenied
from gateway.members import service
from gateway.members.schemas import (
    KycActionRequest,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationsPublic,
    UserCreate,
    UserPublic,
    UsersPublic,
)

router = APIRouter(tags=["members"], responses=problem_responses(401, 403, 404, 413, 422, 429))


def load_organization(
    org_id: uuid.UUID, principal: Annotated[Principal, Depends(require(Permission.ORGS_READ))], session: SessionDep
) -> Organization:
    """The organization, if the caller may see it; otherwise 404 (its existence is not disclosed)."""
    org = session.get(Organization, org_id)
    if org is None or not principal.can_see(org.id):
        raise NotFound("organization not found")
    return org


OrganizationDep = Annotated[Organization, Depends(load_organization)]


@router.get("/me", response_model=UserPublic, status_code=200)
def me(principal: CurrentPrincipal, session: SessionDep) -> User:
    """The signed-in user."""
    if principal.kind != "user":
        raise PermissionDenied("API clients have no user profile")
    user = session.get(User, principal.id)
    assert user is not None
    return user


@router.post("/organizations", response_model=OrganizationPublic, status_code=201, responses=problem_responses(409))
def create_organization(
    body: OrganizationCreate,
    principal: Annotated[Principal, Depends(require(Permission.ORGS_MANAGE))],
    session: SessionDep,
) -> Organization:
    """Onboard a member organization (operator admin)."""
    return service.create_organization(session, actor=principal.actor, data=body)


@router.get("/organizations", response_model=OrganizationsPublic, status_code=200)
def list_organizations(
    principal: Annotated[Principal, Depends(require(Permission.ORGS_READ))],
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OrganizationsPublic:
    """Operator staff see every member; a member sees itself."""
    rows, count = service.list_organizations(
        session, visible_to=None if principal.is_operator else principal.organization_id, offset=offset, limit=limit
    )
    return OrganizationsPublic(data=[OrganizationPublic.model_validate(r) for r in rows], count=count)


@router.get("/organizations/{org_id}", response_model=OrganizationPublic, status_code=200)
def get_organization(org: OrganizationDep) -> Organization:
    return org


@router.post(
    "/organizations/{org_id}/users", response_model=UserPublic, status_code=201, responses=problem_responses(409)
)
def create_user(
    body: UserCreate,
    org: OrganizationDep,
    principal: Annotated[Principal, Depends(require(Permission.USERS_MANAGE))],
    _: StepUp,
    ctx: ContextDep,
    session: SessionDep,
) -> User:
    """Add a user with a role (operator admin, step-up). The user enrolls TOTP before the first login."""
    return service.create_user(ctx, session, actor=principal.actor, organization=org, data=body)


@router.get("/organizations/{org_id}/users", response_model=UsersPublic, status_code=200)
def list_users(
    org: OrganizationDep,
    principal: Annotated[Principal, Depends(require(Permission.ORGS_READ))],
    session: SessionDep,
) -> UsersPublic:
    users = service.list_users(session, organization_id=org.id)
    return UsersPublic(data=[UserPublic.model_validate(u) for u in users], count=len(users))


@router.post(
    "/organizations/{org_id}/users/{user_id}/deactivate",
    response_model=UserPublic,
    status_code=200,
    responses=problem_responses(409),
)
def deactivate_user(
    user_id: uuid.UUID,
    org: OrganizationDep,
    principal: Annotated[Principal, Depends(require(Permission.USERS_MANAGE))],
    _: StepUp,
    session: SessionDep,
) -> User:
    """Deactivate a user of the organization (operator admin, step-up); its sessions end at once."""
    user = session.get(User, user_id)
    if user is None or user.organization_id != org.id:
        raise NotFound("user not found")
    return service.deactivate_user(session, actor=principal.actor, user=user)


def _kyc_action(action: str):  # type: ignore[no-untyped-def]
    def route(
        body: KycActionRequest,
        org: OrganizationDep,
        principal: Annotated[Principal, Depends(require(Permission.KYC_REVIEW))],
        _: StepUp,
        ctx: ContextDep,
        session: SessionDep,
    ) -> Organization:
        return service.change_kyc_state(
            ctx, session, actor=principal.actor, organization=org, action=action, reason=body.reason
        )

    route.__name__ = f"{action}_organization"
    route.__doc__ = f"{action.capitalize()} a member's KYC status, on chain and here (compliance officer, step-up)."
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
