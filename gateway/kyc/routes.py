"""/v1/kyc: applications, screening-hit decisions, approval; failed registry writes sent again."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gateway.access.permissions import Permission
from gateway.api.deps import ContextDep, PageQuery, Principal, SessionDep, StepUp, require
from gateway.api.errors import problem_responses
from gateway.db import pages
from gateway.db.models import ApplicationStatus, KycApplication, Organization, ScreeningHit
from gateway.exceptions import InvalidRequest, NotFound
from gateway.kyc import service, upkeep
from gateway.kyc.schemas import (
    ApplicationCreate,
    ApplicationDecision,
    ApplicationPublic,
    ApplicationsPublic,
    HitDecisionRequest,
    HitPublic,
)
from gateway.members.schemas import OrganizationPublic, OrganizationsPublic
from gateway.settlement import registry, registry_retry
from gateway.settlement.hub import OptionalHubDep
from gateway.settlement.schemas import SettlementPublic
from gateway.settlement.views import settlement_public
from gateway.trading.exceptions import SettlementUnavailable

router = APIRouter(prefix="/kyc", tags=["kyc"], responses=problem_responses(401, 403, 404, 413, 422, 429))

KycReader = Annotated[Principal, Depends(require(Permission.KYC_READ))]
KycReviewer = Annotated[Principal, Depends(require(Permission.KYC_REVIEW))]


def load_application(application_id: uuid.UUID, principal: KycReader, session: SessionDep) -> KycApplication:
    application = session.get(KycApplication, application_id)
    if application is None or not principal.can_see(application.organization_id):
        raise NotFound("application not found")
    return application


ApplicationDep = Annotated[KycApplication, Depends(load_application)]


def _public(session: SessionDep, application: KycApplication) -> ApplicationPublic:
    public = ApplicationPublic.model_validate(application)
    public.hits = [HitPublic.model_validate(h) for h in service.hits_of(session, application.id)]
    return public


@router.post("/applications", response_model=ApplicationPublic, status_code=201, responses=problem_responses(409))
def submit_application(
    body: ApplicationCreate,
    principal: Annotated[Principal, Depends(require(Permission.KYC_SUBMIT))],
    ctx: ContextDep,
    session: SessionDep,
) -> ApplicationPublic:
    """Apply for KYC approval; the entity and its beneficial owners are screened against the sanctions list."""
    org_id = principal.organization_id
    if body.organization_id is not None:
        if not principal.can_see(body.organization_id):
            raise NotFound("organization not found")
        org_id = body.organization_id
    organization = session.get(Organization, org_id)
    if organization is None:
        raise NotFound("organization not found")
    if organization.is_operator:
        raise InvalidRequest("the operator does not apply for KYC")
    application = service.submit(
        ctx, session, actor=principal.actor, submitter_id=principal.id, organization=organization, data=body
    )
    return _public(session, application)


@router.get("/applications", response_model=ApplicationsPublic, status_code=200)
def list_applications(
    principal: KycReader,
    session: SessionDep,
    page: PageQuery,
    status: ApplicationStatus | None = None,
) -> ApplicationsPublic:
    """Operator staff see every application (filter by status for the review queue); members their own."""
    rows, next_cursor = service.list_applications(
        session,
        organization_id=None if principal.is_operator else principal.organization_id,
        status=status.value if status else None,
        page=page,
    )
    return ApplicationsPublic(data=[_public(session, r) for r in rows], next_cursor=next_cursor)


@router.get("/reviews", response_model=OrganizationsPublic, status_code=200)
def reviews_due(
    _: KycReviewer,
    session: SessionDep,
    page: PageQuery,
    within_days: Annotated[int, Query(ge=0, le=3650)] = 30,
) -> OrganizationsPublic:
    """Approved members whose periodic KYC review is due within ``within_days`` (compliance officers)."""
    rows, next_cursor = pages.in_memory(
        upkeep.due_for_review(session, within=timedelta(days=within_days)),
        page,
        lambda o: (o.created_at.isoformat(), str(o.id)),
    )
    return OrganizationsPublic(data=[OrganizationPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/applications/{application_id}", response_model=ApplicationPublic, status_code=200)
def get_application(application: ApplicationDep, session: SessionDep) -> ApplicationPublic:
    return _public(session, application)


@router.post(
    "/applications/{application_id}/hits/{hit_id}/decision",
    response_model=ApplicationPublic,
    status_code=200,
    responses=problem_responses(409),
)
def decide_hit(
    hit_id: uuid.UUID,
    body: HitDecisionRequest,
    application: ApplicationDep,
    principal: KycReviewer,
    session: SessionDep,
) -> ApplicationPublic:
    """Clear a screening hit as a false positive, or confirm it (compliance officer, not the submitter)."""
    hit = session.get(ScreeningHit, hit_id)
    if hit is None or hit.application_id != application.id:
        raise NotFound("hit not found")
    service.decide_hit(
        session,
        actor=principal.actor,
        officer_id=principal.id,
        application=application,
        hit=hit,
        decision=body.decision,
        note=body.note,
    )
    return _public(session, application)


@router.post(
    "/applications/{application_id}/decision",
    response_model=ApplicationPublic,
    status_code=200,
    responses=problem_responses(409, 502),
)
def decide_application(
    body: ApplicationDecision,
    application: ApplicationDep,
    principal: KycReviewer,
    _: StepUp,
    ctx: ContextDep,
    session: SessionDep,
    hub: OptionalHubDep,
) -> ApplicationPublic:
    """Approve or reject (compliance officer other than the submitter, step-up). Approval whitelists on chain:
    through the outbox where a relayer is configured (``settlement_id``: the registration, final once the
    registry holds the identity; GET /v1/settlements/{id}/wait), else before the answer."""
    queued = service.decide(
        ctx,
        session,
        actor=principal.actor,
        officer_id=principal.id,
        application=application,
        approve=body.approve,
        note=body.note,
        outbox=registry.registry_outbox(hub),
    )
    public = _public(session, application)
    public.settlement_id = queued.id if queued is not None else None
    return public


@router.post(
    "/registry-settlements/{settlement_id}/retry",
    response_model=SettlementPublic,
    status_code=202,
    responses=problem_responses(409, 503),
)
def retry_registry_settlement(
    settlement_id: uuid.UUID,
    principal: KycReviewer,
    _: StepUp,
    session: SessionDep,
    hub: OptionalHubDep,
) -> SettlementPublic:
    """Send a failed registry write again (registration, renewal, new wallet, freeze, unfreeze, revocation), once
    its cause is fixed (compliance officer, step-up): a new settlement on the outbox, linked to the failed one.
    Refused (409) unless the settlement failed, was not retried yet and its decision still stands."""
    market = registry.registry_outbox(hub)
    if market is None:
        raise SettlementUnavailable("no relayer sends the registry's writes here")
    retried = registry_retry.retry(session, market, settlement_id=settlement_id, actor=principal.actor)
    session.commit()
    if hub is not None:
        hub.notify()
    return settlement_public(session, retried)
