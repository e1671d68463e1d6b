"""A surveillance case about organization A for the cross-organization authorization matrix (cases are the
operator's: no member, A or B, reaches them)."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.surveillance import cases
from gateway.surveillance.case_models import Severity
from tests.gateway.conftest import Cast, World


def case(world: World, cast: Cast, objects: dict[str, str]) -> str:
    with world.ctx.sessions() as session:
        data = cases.AlertIn(
            key="authz-matrix",
            source="rule",
            detector="wash_trade",
            typology="wash",
            severity=Severity.HIGH,
            score=1.0,
            organization_id=world.orgs["a"],
            subject=str(world.orgs["a"]),
            reason="fixture",
            top_features=[],
            evidence={},
            observed_at=datetime.now(UTC),
        )
        raised = cases.raise_alert(session, data=data, actor="test")
        session.commit()
        return str(raised.case.id)


OBJECTS = {"case_id": case}
BODIES = {
    ("post", "/v1/surveillance/cases/{case_id}/assign"): {"assignee": "00000000-0000-0000-0000-000000000000"},
    ("post", "/v1/surveillance/cases/{case_id}/comments"): {"text": "x"},
    ("post", "/v1/surveillance/cases/{case_id}/evidence"): {"name": "x", "sha256": "0" * 64},
    ("post", "/v1/surveillance/cases/{case_id}/escalate"): {"reason": "x"},
    ("post", "/v1/surveillance/cases/{case_id}/close"): {"reason": "x"},
}
