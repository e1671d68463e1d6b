"""/v1/risk/exposure/history: a member's net exposure per counterparty over time, for charts (gateway.risk.history:
one point per pair and minute as the risk service reported it, kept 30 days; coarser buckets on request)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from gateway.api.deps import ReadSessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead
from gateway.exceptions import InvalidRequest
from gateway.risk import history

router = APIRouter(prefix="/risk", tags=["risk"], responses=problem_responses(401, 403, 422, 429))


class ExposurePointPublic(BaseModel):
    counterparty_id: uuid.UUID
    at: datetime  # the bucket's start (UTC)
    net_units: str  # smallest units of the pair's base currency; positive: the member is under-collateralized
    repos: int


class ExposureHistoryPublic(BaseModel):
    """Oldest first; each point is the last value reported within its bucket (at most 5,000 points)."""

    data: list[ExposurePointPublic]
    bucket_seconds: int
    retention_days: int
    next_cursor: str | None = None


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("/exposure/history", response_model=ExposureHistoryPublic, status_code=200)
def exposure_history(
    principal: ReposRead,
    read: ReadSessionDep,
    counterparty_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bucket_seconds: Annotated[int, Query(ge=history.BUCKET_SECONDS, le=7 * 86_400)] = history.BUCKET_SECONDS,
) -> ExposureHistoryPublic:
    """The member's net exposure per counterparty (as lender) between ``since`` and ``until`` (default: the last
    day), in buckets of ``bucket_seconds`` (a multiple of 60)."""
    start, end = history.default_window()
    start, end = _utc(since or start), _utc(until or end)
    if end < start or end - start > timedelta(days=history.RETENTION_DAYS + 1):
        raise InvalidRequest(f"since..until: in order, at most {history.RETENTION_DAYS} days")
    step = bucket_seconds // history.BUCKET_SECONDS * history.BUCKET_SECONDS
    rows = history.series(
        read,
        organization_id=principal.organization_id,
        counterparty_id=counterparty_id,
        since=start,
        until=end,
        bucket_seconds=step,
    )
    return ExposureHistoryPublic(
        data=[
            ExposurePointPublic(
                counterparty_id=cp, at=datetime.fromtimestamp(at, UTC), net_units=row.net_units, repos=row.repos
            )
            for cp, at, row in rows
        ],
        bucket_seconds=step,
        retention_days=history.RETENTION_DAYS,
    )
