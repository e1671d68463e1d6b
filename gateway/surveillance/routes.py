"""/v1/surveillance: the activity feed the surveillance service reads, the alerts it raises, and the cases
compliance officers work (assign, comment, attach evidence, escalate, close with four eyes on high severity, file
a SAR). Only the operator's organization: a member's key with a surveillance scope is refused. Each new alert and
case goes on the operator's WebSocket stream and webhooks as ``surveillance.alert`` / ``surveillance.case``."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.access.permissions import ROLE_PERMISSIONS, P
from gateway.api.deps import PageQuery, Principal, ReadSessionDep, SessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import CasesRead, CasesWork, SurveillanceAlert, SurveillanceFeed
from gateway.db import pages
from gateway.db.models import Organization, Role, User
from gateway.events.webhooks import enqueue_in
from gateway.exceptions import InvalidRequest, PermissionDenied
from gateway.leases import service as leases
from gateway.leases.models import LeaseKind
from gateway.leases.routes import LeaseToken
from gateway.settlement.hub import Hub, HubDep
from gateway.surveillance import cases, feed, sar
from gateway.surveillance.case_models import CaseStatus, EntryKind, SurveillanceCase
from gateway.surveillance.case_models import SurveillanceAlert as AlertRow
from gateway.surveillance.case_schemas import (
    AlertCreate,
    AlertPublic,
    AlertRaised,
    AlertsPublic,
    AssignIn,
    CaseDetail,
    CaseEntryPublic,
    CasePublic,
    CasesPublic,
    CommentIn,
    EvidenceIn,
    FeedItemPublic,
    FeedPublic,
    ReasonIn,
)

router = APIRouter(
    prefix="/surveillance", tags=["surveillance"], responses=problem_responses(401, 403, 404, 409, 422, 429)
)


def _operator(session: Session, principal: Principal) -> None:
    if principal.is_operator:
        return
    org = session.get(Organization, principal.organization_id)
    if org is None or not org.is_operator:
        raise PermissionDenied("surveillance is the operator's: a member's credentials are refused")


def _show(hub: Hub, session: Session, kind: str, data: dict[str, Any], event_id: str) -> None:
    """On the operator's stream and webhooks: the webhook deliveries commit with the route's change, in its own
    transaction (a keyed request holds that transaction's write lock until its answer is stored, so a second write
    transaction here would wait on it until SQLite gave up: 500 on every keyed case change)."""
    operators = set(session.scalars(select(Organization.id).where(Organization.is_operator)))
    event = {"type": kind, "id": None, "ref": event_id, "at": int(time.time()), **data}
    enqueue_in(session, {**event, "id": event_id}, operators, message_id=f"msg_{event_id}")  # the webhook message id
    session.commit()
    if hub.bus is not None:  # id null: not a chain event (the stream's ``since`` does not replay it)
        hub.bus.publish(event, operators)


@router.get("/feed", response_model=FeedPublic, status_code=200)
def read_feed(
    principal: SurveillanceFeed,
    read: ReadSessionDep,
    after: int = Query(0, ge=0, description="the last sequence handled"),
    limit: int = Query(200, ge=1, le=feed.MAX_ITEMS),
) -> FeedPublic:
    """The gateway's activity after ``after`` in order: audit entries, with an agreed trade's terms."""
    _operator(read, principal)
    found = feed.items(read, after=after, limit=limit)
    full = len(found) == limit and found
    return FeedPublic(
        data=[FeedItemPublic.model_validate(i) for i in found], next_cursor=str(found[-1].sequence) if full else None
    )


@router.post("/alerts", response_model=AlertRaised, status_code=201)
def raise_alert(
    body: AlertCreate,
    principal: SurveillanceAlert,
    session: SessionDep,
    hub: HubDep,
    lease_token: LeaseToken = None,
) -> AlertRaised:
    """Store an alert and open (or join) its subject's case; the same ``key`` again changes nothing. With an
    X-Lease-Token, only the surveillance lease's current holder may (409 for a stale one)."""
    _operator(session, principal)
    leases.check(session, LeaseKind.SURVEILLANCE, principal.organization_id, lease_token)
    data = cases.AlertIn(**{**body.model_dump(), "top_features": [f.model_dump() for f in body.top_features]})
    raised = cases.raise_alert(session, data=data, actor=principal.actor)
    session.commit()
    answer = AlertRaised(
        alert=AlertPublic.model_validate(raised.alert),
        case_id=raised.case.id,
        new_alert=raised.new_alert,
        new_case=raised.new_case,
    )
    if raised.new_alert:
        _show(
            hub,
            session,
            "surveillance.alert",
            {"alert": answer.alert.model_dump(mode="json")},
            str(answer.alert.id),
        )
    if raised.new_case:
        case = CasePublic.model_validate(raised.case).model_dump(mode="json")
        _show(hub, session, "surveillance.case", {"change": "opened", "case": case}, f"case-{answer.case_id}-opened")
    return answer


@router.get("/alerts", response_model=AlertsPublic, status_code=200)
def list_alerts(principal: CasesRead, read: ReadSessionDep, page: PageQuery) -> AlertsPublic:
    """The newest alerts first (``order=oldest`` for the other way), a page at a time."""
    _operator(read, principal)
    query = pages.keyset(select(AlertRow), page, AlertRow.created_at, AlertRow.id)
    rows, next_cursor = pages.finish(read.scalars(query).all(), page, lambda a: (a.created_at, a.id))
    return AlertsPublic(data=[AlertPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/cases", response_model=CasesPublic, status_code=200)
def list_cases(
    principal: CasesRead,
    read: ReadSessionDep,
    page: PageQuery,
    status: CaseStatus | None = None,
) -> CasesPublic:
    """The newest cases first (``order=oldest`` for the other way), a page at a time; ``status`` filters."""
    _operator(read, principal)
    query = select(SurveillanceCase)
    if status is not None:
        query = query.where(SurveillanceCase.status == status.value)
    rows, next_cursor = pages.finish(
        read.scalars(pages.keyset(query, page, SurveillanceCase.number)).all(), page, lambda c: (c.number,)
    )
    return CasesPublic(data=[CasePublic.model_validate(c) for c in rows], next_cursor=next_cursor)


def _detail(session: Session, case: SurveillanceCase) -> CaseDetail:
    return CaseDetail(
        **CasePublic.model_validate(case).model_dump(),
        alerts=[AlertPublic.model_validate(a) for a in cases.alerts_of(session, case)],
        entries=[CaseEntryPublic.model_validate(e) for e in cases.entries_of(session, case)],
    )


@router.get("/cases/{case_id}", response_model=CaseDetail, status_code=200)
def get_case(case_id: uuid.UUID, principal: CasesRead, read: ReadSessionDep) -> CaseDetail:
    _operator(read, principal)
    return _detail(read, cases.get_case(read, case_id))


def _changed(hub: Hub, session: Session, case: SurveillanceCase, change: str) -> CaseDetail:
    session.commit()
    detail = _detail(session, case)
    body = {"change": change, "case": CasePublic.model_validate(case).model_dump(mode="json")}
    _show(hub, session, "surveillance.case", body, f"case-{detail.id}-{len(detail.entries)}")
    return detail


@router.post("/cases/{case_id}/assign", response_model=CaseDetail, status_code=200)
def assign(case_id: uuid.UUID, body: AssignIn, principal: CasesWork, session: SessionDep, hub: HubDep) -> CaseDetail:
    _operator(session, principal)
    case = cases.get_case(session, case_id)
    user = session.get(User, body.assignee)
    org = session.get(Organization, user.organization_id) if user is not None else None
    if user is None or not user.is_active or org is None or not org.is_operator:
        raise InvalidRequest("the assignee must be an active person of the operator")
    if P.CASES_WORK not in ROLE_PERMISSIONS[Role(user.role)]:
        raise InvalidRequest(f"the assignee's role ({user.role}) may not work cases")
    cases.assign(session, case, assignee=user.id, actor=principal.actor)
    return _changed(hub, session, case, EntryKind.ASSIGNED.value)


@router.post("/cases/{case_id}/comments", response_model=CaseDetail, status_code=200)
def add_comment(
    case_id: uuid.UUID, body: CommentIn, principal: CasesWork, session: SessionDep, hub: HubDep
) -> CaseDetail:
    _operator(session, principal)
    case = cases.get_case(session, case_id)
    cases.comment(session, case, text=body.text, actor=principal.actor)
    return _changed(hub, session, case, EntryKind.COMMENT.value)


@router.post("/cases/{case_id}/evidence", response_model=CaseDetail, status_code=200)
def add_evidence(
    case_id: uuid.UUID, body: EvidenceIn, principal: CasesWork, session: SessionDep, hub: HubDep
) -> CaseDetail:
    _operator(session, principal)
    case = cases.get_case(session, case_id)
    cases.attach(session, case, evidence=body.model_dump(), actor=principal.actor)
    return _changed(hub, session, case, EntryKind.EVIDENCE.value)


@router.post("/cases/{case_id}/escalate", response_model=CaseDetail, status_code=200)
def escalate(case_id: uuid.UUID, body: ReasonIn, principal: CasesWork, session: SessionDep, hub: HubDep) -> CaseDetail:
    _operator(session, principal)
    case = cases.get_case(session, case_id)
    cases.escalate(session, case, reason=body.reason, actor=principal.actor)
    return _changed(hub, session, case, EntryKind.ESCALATED.value)


@router.post("/cases/{case_id}/close", response_model=CaseDetail, status_code=200)
def close(case_id: uuid.UUID, body: ReasonIn, principal: CasesWork, session: SessionDep, hub: HubDep) -> CaseDetail:
    """Close with a reason. A high-severity case: the first call requests the close (status ``close_requested``),
    a second person's call confirms it; the same person again is refused (403)."""
    _operator(session, principal)
    if principal.kind != "user":
        raise PermissionDenied("a case is closed by a person")
    case = cases.get_case(session, case_id)
    closed = cases.close(session, case, reason=body.reason, user_id=principal.id, actor=principal.actor)
    change = EntryKind.CLOSED if closed else EntryKind.CLOSE_REQUESTED
    return _changed(hub, session, case, change.value)


@router.post(
    "/cases/{case_id}/sar",
    status_code=200,
    response_class=Response,
    responses={
        200: {
            "content": {"application/json": {"schema": {"type": "string", "format": "binary"}}},
            "description": "the SAR file, format reponet-sar/1 (docs/surveillance.md)",
        }
    },
)
def suspicious_activity_report(case_id: uuid.UUID, principal: CasesWork, session: SessionDep) -> Response:
    """Produce the case's suspicious activity report, a JSON file (docs/surveillance.md); a POST because each
    report produced is recorded (its SHA-256 on the case and in the audit log)."""
    _operator(session, principal)
    case = cases.get_case(session, case_id)
    blob, digest = sar.render(sar.build(session, case))
    cases.record_sar(session, case, sha256=digest, size=len(blob), actor=principal.actor)
    session.commit()
    name = f"sar-SC{case.number}.json"
    return Response(
        blob, media_type="application/json", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
