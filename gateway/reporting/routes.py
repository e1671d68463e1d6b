"""/v1/organizations/{org_id}/reports/sftr: a member's daily SFTR report file (XML validated against the shipped
XSD, or CSV) and the reconciliation of its reports with its counterparties'. Read by the member's administrators
and reporting clients (``reports:read``) and by the operator's compliance officers (an audited operator view)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from gateway.api.deps import ContextDep, ReadSessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import ReportsRead
from gateway.db.models import Organization
from gateway.exceptions import NotFound
from gateway.reporting import service
from gateway.reporting.reconcile import reconcile
from gateway.reporting.schemas import BreakPublic, ReconciliationPublic
from gateway.reporting.service import FileFormat
from gateway.settlement_records import freshness

router = APIRouter(tags=["reporting"], responses=problem_responses(400, 401, 403, 404, 409, 422, 429))
MEDIA = {FileFormat.XML: "application/xml", FileFormat.CSV: "text/csv"}
DayQuery = Annotated[
    date | None, Query(alias="date", description="reporting day (UTC), YYYY-MM-DD; default yesterday (T+1 reporting)")
]


MinBlock = Annotated[
    int | None,
    Query(
        ge=0,
        le=2**63 - 1,
        description="answer once the indexed tables reflect at least this block: waits up to 5 s, else 409",
    ),
]


def _day(day: date | None) -> date:
    return day or (datetime.now(UTC) - timedelta(days=1)).date()


def _visible(session: ReadSessionDep, principal: ReportsRead, org_id: uuid.UUID) -> None:
    org = session.get(Organization, org_id)
    if org is None or not principal.can_see(org.id):
        raise NotFound("organization not found")


@router.get(
    "/organizations/{org_id}/reports/sftr/daily",
    response_class=Response,
    status_code=200,
    responses={
        200: {
            "description": "the member's report file of the day",
            "content": {"application/xml": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def daily_report(
    org_id: uuid.UUID,
    principal: ReportsRead,
    read: ReadSessionDep,
    ctx: ContextDep,
    day: DayQuery = None,
    file_format: Annotated[FileFormat, Query(alias="format")] = FileFormat.XML,
    min_block: MinBlock = None,
) -> Response:
    """One record per repo event of the day the member was a party to (SFTR fields; action NEWT, MODI, VALU,
    COLU or ETRM). XML is validated against ``gateway/reporting/schema/sftr_repo_report.xsd`` before it is sent."""
    _visible(read, principal, org_id)
    block = freshness.require_block(read, ctx.read_sessions, min_block)
    day = _day(day)
    body = service.daily_file(read, org_id=org_id, day=day, file_format=file_format)
    name = f"sftr-{org_id}-{day.isoformat()}.{file_format.value}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if block is not None:
        headers[freshness.HEADER] = str(block)
    return Response(body, media_type=MEDIA[file_format], headers=headers)


@router.get("/organizations/{org_id}/reports/sftr/reconciliation", response_model=ReconciliationPublic, status_code=200)
def daily_reconciliation(
    org_id: uuid.UUID,
    principal: ReportsRead,
    read: ReadSessionDep,
    ctx: ContextDep,
    day: DayQuery = None,
    min_block: MinBlock = None,
) -> ReconciliationPublic:
    """The member's records of the day paired by UTI with what its counterparties report of the same repos;
    breaks are unpaired UTIs and fields that differ beyond the tolerances (gateway.reporting.reconcile)."""
    _visible(read, principal, org_id)
    freshness.require_block(read, ctx.read_sessions, min_block)
    day = _day(day)
    daily = service.daily_records(read, org_id=org_id, day=day)
    result = reconcile(daily.ours, daily.theirs)
    return ReconciliationPublic(
        member_lei=daily.member_lei,
        date=day,
        records_ours=len(daily.ours),
        records_theirs=len(daily.theirs),
        paired=result.paired,
        matched=result.matched,
        breaks=[
            BreakPublic(uti=b.uti, kind=b.kind, field=b.field, ours=b.ours, theirs=b.theirs) for b in result.breaks
        ],
    )
