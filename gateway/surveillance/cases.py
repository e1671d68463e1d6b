"""Alerts and cases: an alert is stored once (by its key) and opens a case on its subject, or joins the subject's
case while that is still open; analysts assign, comment, attach evidence, escalate and close with a reason. A
high-severity case closes only when a second person confirms the close one analyst requested (four eyes). Every
change is an entry on the case and an entry in the audit log, in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db import audit_log
from gateway.exceptions import Conflict, NotFound, PermissionDenied
from gateway.surveillance.case_models import (
    CaseEntry,
    CaseStatus,
    EntryKind,
    Severity,
    SurveillanceAlert,
    SurveillanceCase,
)

_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2}


@dataclass(frozen=True)
class AlertIn:
    key: str
    source: str
    detector: str
    typology: str
    severity: Severity
    score: float
    organization_id: uuid.UUID | None
    subject: str
    reason: str
    top_features: list[dict[str, Any]]
    evidence: dict[str, Any]
    observed_at: datetime


@dataclass(frozen=True)
class Raised:
    alert: SurveillanceAlert
    case: SurveillanceCase
    new_alert: bool
    new_case: bool


def _entry(session: Session, case: SurveillanceCase, kind: EntryKind, actor: str, body: dict[str, Any]) -> None:
    session.add(CaseEntry(case_id=case.id, kind=kind.value, actor=actor, body=body))
    audit_log.append(
        session,
        actor=actor,
        action=f"surveillance.case.{kind.value}",
        object_type="surveillance_case",
        object_id=str(case.id),
        change=body,
    )


def raise_alert(session: Session, *, data: AlertIn, actor: str) -> Raised:
    """Store the alert and open (or join) its subject's case. Raising the same key again changes nothing."""
    known = session.scalars(select(SurveillanceAlert).where(SurveillanceAlert.key == data.key)).first()
    if known is not None and known.case_id is not None:
        case = session.get(SurveillanceCase, known.case_id)
        assert case is not None
        return Raised(known, case, new_alert=False, new_case=False)
    alert = SurveillanceAlert(
        key=data.key,
        source=data.source,
        detector=data.detector,
        typology=data.typology,
        severity=data.severity.value,
        score=data.score,
        organization_id=data.organization_id,
        subject=data.subject,
        reason=data.reason,
        top_features=data.top_features,
        evidence=data.evidence,
        observed_at=data.observed_at,
    )
    session.add(alert)
    session.flush()
    audit_log.append(
        session,
        actor=actor,
        action="surveillance.alert.raised",
        object_type="surveillance_alert",
        object_id=str(alert.id),
        change={"key": data.key, "detector": data.detector, "severity": data.severity.value, "subject": data.subject},
    )
    case = session.scalars(
        select(SurveillanceCase).where(
            SurveillanceCase.subject == data.subject, SurveillanceCase.status != CaseStatus.CLOSED.value
        )
    ).first()
    new_case = case is None
    if case is None:
        number = (session.execute(select(func.max(SurveillanceCase.number))).scalar_one() or 0) + 1
        case = SurveillanceCase(
            number=number,
            subject=data.subject,
            organization_id=data.organization_id,
            severity=data.severity.value,
            status=CaseStatus.OPEN.value,
            opened_at=datetime.now(UTC),
        )
        session.add(case)
        session.flush()
        _entry(session, case, EntryKind.OPENED, actor, {"alert": str(alert.id), "severity": case.severity})
    else:
        if _RANK[data.severity] > _RANK[Severity(case.severity)]:
            case.severity = data.severity.value
        _entry(session, case, EntryKind.ALERT, actor, {"alert": str(alert.id), "severity": data.severity.value})
    alert.case_id = case.id
    return Raised(alert, case, new_alert=True, new_case=new_case)


def get_case(session: Session, case_id: uuid.UUID) -> SurveillanceCase:
    case = session.get(SurveillanceCase, case_id)
    if case is None:
        raise NotFound("case not found")
    return case


def _open(case: SurveillanceCase) -> None:
    if case.status == CaseStatus.CLOSED.value:
        raise Conflict(f"case SC-{case.number} is closed")


def assign(session: Session, case: SurveillanceCase, *, assignee: uuid.UUID, actor: str) -> None:
    _open(case)
    case.assignee = assignee
    _entry(session, case, EntryKind.ASSIGNED, actor, {"assignee": str(assignee)})


def comment(session: Session, case: SurveillanceCase, *, text: str, actor: str) -> None:
    _open(case)
    _entry(session, case, EntryKind.COMMENT, actor, {"text": text})


def attach(session: Session, case: SurveillanceCase, *, evidence: dict[str, Any], actor: str) -> None:
    """Evidence: a name, what it is, where it is kept (a URI) and its SHA-256, so the file can be checked later."""
    _open(case)
    _entry(session, case, EntryKind.EVIDENCE, actor, evidence)


def escalate(session: Session, case: SurveillanceCase, *, reason: str, actor: str) -> None:
    """Escalation raises the case to high severity: its close then needs a second person."""
    _open(case)
    case.status = CaseStatus.ESCALATED.value
    case.severity = Severity.HIGH.value
    _entry(session, case, EntryKind.ESCALATED, actor, {"reason": reason})


def close(session: Session, case: SurveillanceCase, *, reason: str, user_id: uuid.UUID, actor: str) -> bool:
    """Close the case; for a high-severity case the first call requests the close and a second person's call
    (with any reason of their own) confirms it. True when the case is now closed."""
    _open(case)
    if case.severity == Severity.HIGH.value:
        if case.status != CaseStatus.CLOSE_REQUESTED.value:
            case.status = CaseStatus.CLOSE_REQUESTED.value
            case.close_requested_by = user_id
            case.close_reason = reason
            _entry(session, case, EntryKind.CLOSE_REQUESTED, actor, {"reason": reason})
            return False
        if case.close_requested_by == user_id:
            raise PermissionDenied("a high-severity case is closed by a second person, not the one who asked")
    case.status = CaseStatus.CLOSED.value
    case.closed_by = user_id
    case.closed_at = datetime.now(UTC)
    case.close_reason = reason if case.close_reason is None else f"{case.close_reason} | confirmed: {reason}"
    _entry(session, case, EntryKind.CLOSED, actor, {"reason": reason})
    return True


def record_sar(session: Session, case: SurveillanceCase, *, sha256: str, size: int, actor: str) -> None:
    """A SAR was produced: its digest on the case and in the audit log, so the filed file can be matched later."""
    _entry(session, case, EntryKind.SAR, actor, {"sha256": sha256, "bytes": size})


def alerts_of(session: Session, case: SurveillanceCase) -> list[SurveillanceAlert]:
    query = select(SurveillanceAlert).where(SurveillanceAlert.case_id == case.id)
    return list(session.scalars(query.order_by(SurveillanceAlert.observed_at)))


def entries_of(session: Session, case: SurveillanceCase) -> list[CaseEntry]:
    return list(session.scalars(select(CaseEntry).where(CaseEntry.case_id == case.id).order_by(CaseEntry.id)))
