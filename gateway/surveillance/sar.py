"""A case's suspicious activity report (SAR) as a JSON file, format ``reponet-sar/1`` (docs/surveillance.md).

It holds what a financial intelligence unit's form asks for (goAML and FinCEN's SAR share the shape): the filing
institution, the subject (legal entity, LEI, jurisdiction, wallets), the period and amounts of the activity, the
typologies suspected, a narrative, and the underlying alerts, evidence and case history. It is generated from the
database each time (never stored), and its SHA-256 is recorded on the case and in the audit log."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models import Organization, Wallet
from gateway.surveillance import cases
from gateway.surveillance.case_models import EntryKind, SurveillanceCase

FORMAT = "reponet-sar/1"


def _party(session: Session, organization_id: uuid.UUID | None) -> dict[str, Any]:
    org = session.get(Organization, organization_id) if organization_id else None
    if org is None:
        return {"name": None, "lei": None, "jurisdiction": None, "wallets": []}
    wallets = session.scalars(select(Wallet.address).where(Wallet.organization_id == org.id)).all()
    return {"name": org.name, "lei": org.lei, "jurisdiction": org.jurisdiction, "wallets": sorted(wallets)}


def build(session: Session, case: SurveillanceCase) -> dict[str, Any]:
    alerts = cases.alerts_of(session, case)
    entries = cases.entries_of(session, case)
    operator = session.scalars(select(Organization).where(Organization.is_operator)).first()
    trades = {t["trade_id"]: t for a in alerts for t in a.evidence.get("trades", [])}
    observed = [a.observed_at for a in alerts]
    comments = [e.body.get("text", "") for e in entries if e.kind == EntryKind.COMMENT.value]
    return {
        "format": FORMAT,
        "report_id": f"SAR-SC{case.number}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}",
        "generated_at": datetime.now(UTC).isoformat(),
        "filer": {"name": operator.name if operator else None, "lei": operator.lei if operator else None},
        "case": {
            "id": str(case.id),
            "reference": f"SC-{case.number}",
            "status": case.status,
            "severity": case.severity,
            "opened_at": case.opened_at.isoformat(),
            "closed_at": case.closed_at.isoformat() if case.closed_at else None,
            "close_reason": case.close_reason,
        },
        "subject": {"organization_id": str(case.organization_id) if case.organization_id else None}
        | _party(session, case.organization_id),
        "activity": {
            "from": min(observed).isoformat() if observed else None,
            "to": max(observed).isoformat() if observed else None,
            "typologies": sorted({a.typology for a in alerts}),
            "trades": list(trades.values()),
        },
        "narrative": "\n".join([*(f"[{a.detector}] {a.reason}" for a in alerts), *comments]),
        "alerts": [
            {
                "id": str(a.id),
                "source": a.source,
                "detector": a.detector,
                "typology": a.typology,
                "severity": a.severity,
                "score": a.score,
                "reason": a.reason,
                "top_features": a.top_features,
                "observed_at": a.observed_at.isoformat(),
            }
            for a in alerts
        ],
        "evidence": [e.body for e in entries if e.kind == EntryKind.EVIDENCE.value],
        "history": [{"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "body": e.body} for e in entries],
    }


def render(report: dict[str, Any]) -> tuple[bytes, str]:
    """The file's bytes and their SHA-256."""
    blob = json.dumps(report, indent=2, sort_keys=True).encode()
    return blob, hashlib.sha256(blob).hexdigest()
