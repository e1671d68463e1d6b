"""/v1/risk/exposure/history and /v1/risk/repos/{id}/exposure/history: a member's net exposure per counterparty, and
its exposure as holder on one repo, over time, for charts (gateway.risk.history: one point per pair or repo and
minute as the risk service reported it, kept 30 days; coarser buckets on request)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from gateway.api.deps import ReadSessionDep
from gateway.api.errors import problem_responses
from gateway.api.permits import ReposRead
from gateway.exceptions import InvalidRequest
from gateway.risk import history
from gateway.settlement.service import authorize_repo

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


class RepoExposurePointPublic(BaseModel):
    at: datetime  # the bucket's start (UTC)
    exposure_units: str  # smallest units of the repo's cash token; positive: the holder is under-collateralized


class RepoExposureHistoryPublic(BaseModel):
    """Oldest first; each point is the last value reported within its bucket (at most 5,000 points). Points exist
    while the caller's member held the repo: exposure is the lender's."""

    data: list[RepoExposurePointPublic]
    bucket_seconds: int
    retention_days: int
    next_cursor: str | None = None


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    start, end = history.default_window()
    start, end = _utc(since or start), _utc(until or end)
    if end < start or end - start > timedelta(days=history.RETENTION_DAYS + 1):
        raise InvalidRequest(f"since..until: in order, at most {history.RETENTION_DAYS} days")
    return start, end


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
    start, end = _window(since, until)
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


@router.get("/repos/{repo_id}/exposure/history", response_model=RepoExposureHistoryPublic, status_code=200)
def repo_exposure_history(
    repo_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    principal: ReposRead,
    read: ReadSessionDep,
    since: datetime | None = None,
    until: datetime | None = None,
    bucket_seconds: Annotated[int, Query(ge=history.BUCKET_SECONDS, le=7 * 86_400)] = history.BUCKET_SECONDS,
) -> RepoExposureHistoryPublic:
    """The member's exposure as holder (lender) on one repo between ``since`` and ``until`` (default: the last day),
    in buckets of ``bucket_seconds``; 404 unless the member is a party to the repo. The seller sees an empty series:
    the exposure is the lender's to watch."""
    authorize_repo(read, repo_id, principal.organization_id, is_operator=False)
    start, end = _window(since, until)
    step = bucket_seconds // history.BUCKET_SECONDS * history.BUCKET_SECONDS
    rows = history.repo_series(
        read, organization_id=principal.organization_id, repo_id=repo_id, since=start, until=end, bucket_seconds=step
    )
    return RepoExposureHistoryPublic(
        data=[
            RepoExposurePointPublic(at=datetime.fromtimestamp(at, UTC), exposure_units=row.exposure_units)
            for at, row in rows
        ],
        bucket_seconds=step,
        retention_days=history.RETENTION_DAYS,
    )
