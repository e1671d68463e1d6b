"""Exposure history for charts: the net exposure of each of a member's counterparty pairs, and the lender's exposure
on each repo it holds, as the risk service's snapshots (``POST /v1/risk/exposure``) report them, one point per pair
(or repo) and ``BUCKET_SECONDS`` (a later snapshot in the same bucket replaces the point: the bucket's last value).
Points older than ``RETENTION_DAYS`` are pruned on write, so the table holds at most ``RETENTION_DAYS × 86400 /
BUCKET_SECONDS`` points per pair or repo, however often the service revalues; a chart asks for coarser buckets
(``bucket_seconds``), taken as the last point in each."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.db.models import Base

Key = TypeVar("Key", uuid.UUID, int)  # a pair's counterparty, or a repo's id
BUCKET_SECONDS = 60
RETENTION_DAYS = 30
MAX_POINTS = 5_000  # one answer


class ExposurePoint(Base):
    __tablename__ = "risk_exposure_points"
    __table_args__ = (
        UniqueConstraint("organization_id", "counterparty_id", "bucket", name="uq_risk_exposure_points_bucket"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    counterparty_id: Mapped[uuid.UUID] = mapped_column()
    bucket: Mapped[int] = mapped_column(BigInteger, index=True)  # Unix seconds, a multiple of BUCKET_SECONDS
    net_units: Mapped[str] = mapped_column(String(80))  # smallest units of the pair's base currency
    repos: Mapped[int] = mapped_column(Integer)


class RepoExposurePoint(Base):
    """The holder's exposure on one repo, in smallest units of the repo's cash token (the engine's own test)."""

    __tablename__ = "risk_repo_exposure_points"
    __table_args__ = (UniqueConstraint("organization_id", "repo_id", "bucket", name="uq_risk_repo_exposure_points"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    repo_id: Mapped[int] = mapped_column(BigInteger, index=True)
    bucket: Mapped[int] = mapped_column(BigInteger, index=True)
    exposure_units: Mapped[str] = mapped_column(String(80))


@dataclass(frozen=True)
class RepoPoint:
    repo_id: int
    exposure: int


@dataclass(frozen=True)
class PairPoint:
    counterparty_id: uuid.UUID
    net: int
    repos: int


def record(
    session: Session,
    *,
    organization_id: uuid.UUID,
    points: list[PairPoint],
    repos: list[RepoPoint],
    now: datetime,
) -> None:
    """The snapshot's pairs and repos into this bucket (replacing an earlier value in it); the expired ones pruned."""
    bucket = int(now.timestamp()) // BUCKET_SECONDS * BUCKET_SECONDS
    horizon = bucket - RETENTION_DAYS * 86_400
    session.execute(delete(ExposurePoint).where(ExposurePoint.bucket < horizon))
    session.execute(delete(RepoExposurePoint).where(RepoExposurePoint.bucket < horizon))
    pairs = {p.counterparty_id: {"net_units": str(p.net), "repos": p.repos} for p in points}
    _upsert(session, ExposurePoint, "counterparty_id", organization_id, bucket, pairs)
    held = {r.repo_id: {"exposure_units": str(r.exposure)} for r in repos}
    _upsert(session, RepoExposurePoint, "repo_id", organization_id, bucket, held)


def _upsert(
    session: Session,
    model: type[ExposurePoint] | type[RepoExposurePoint],
    key: str,
    organization_id: uuid.UUID,
    bucket: int,
    values: Mapping[Key, Mapping[str, object]],
) -> None:
    """One row per member, ``key`` and bucket: a later report within the bucket replaces the row's values."""
    same_bucket = select(model).where(model.organization_id == organization_id, model.bucket == bucket)
    found = {getattr(row, key): row for row in session.scalars(same_bucket)}
    for name, fields in values.items():
        row = found.get(name)
        if row is None:
            session.add(model(organization_id=organization_id, bucket=bucket, **{key: name}, **fields))
        else:
            for field, value in fields.items():
                setattr(row, field, value)


def repo_series(
    session: Session, *, organization_id: uuid.UUID, repo_id: int, since: datetime, until: datetime, bucket_seconds: int
) -> list[tuple[int, RepoExposurePoint]]:
    """(bucket start, the last point in it) of the member's exposure on one repo, oldest first, at most
    ``MAX_POINTS``."""
    query = select(RepoExposurePoint).where(
        RepoExposurePoint.organization_id == organization_id,
        RepoExposurePoint.repo_id == repo_id,
        RepoExposurePoint.bucket >= int(since.timestamp()),
        RepoExposurePoint.bucket <= int(until.timestamp()),
    )
    step = max(BUCKET_SECONDS, bucket_seconds // BUCKET_SECONDS * BUCKET_SECONDS)
    last: dict[int, RepoExposurePoint] = {}
    for row in session.scalars(query.order_by(RepoExposurePoint.bucket)):
        last[row.bucket // step * step] = row
    return sorted(last.items())[-MAX_POINTS:]


def series(
    session: Session,
    *,
    organization_id: uuid.UUID,
    counterparty_id: uuid.UUID | None,
    since: datetime,
    until: datetime,
    bucket_seconds: int,
) -> list[tuple[uuid.UUID, int, ExposurePoint]]:
    """(counterparty, bucket start, the last point in it), oldest first, at most ``MAX_POINTS``."""
    query = select(ExposurePoint).where(
        ExposurePoint.organization_id == organization_id,
        ExposurePoint.bucket >= int(since.timestamp()),
        ExposurePoint.bucket <= int(until.timestamp()),
    )
    if counterparty_id is not None:
        query = query.where(ExposurePoint.counterparty_id == counterparty_id)
    step = max(BUCKET_SECONDS, bucket_seconds // BUCKET_SECONDS * BUCKET_SECONDS)
    last: dict[tuple[uuid.UUID, int], ExposurePoint] = {}
    for row in session.scalars(query.order_by(ExposurePoint.bucket)):
        last[(row.counterparty_id, row.bucket // step * step)] = row
    ordered = sorted(last.items(), key=lambda kv: (kv[0][1], str(kv[0][0])))
    return [(cp, start, row) for (cp, start), row in ordered[-MAX_POINTS:]]


def default_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    end = now or datetime.now(UTC)
    return end - timedelta(days=1), end
