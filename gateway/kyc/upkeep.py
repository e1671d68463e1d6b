"""KYC upkeep, run by the gateway's periodic maintenance and the officers' review queue: members due for review,
members whose KYC lapsed, and SIWE challenges and idempotency records past their day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.db import audit_log
from gateway.db.models import IdempotencyRecord, KycStatus, Organization, SiweChallenge


def due_for_review(session: Session, *, within: timedelta, now: datetime | None = None) -> list[Organization]:
    """Approved members whose review date falls within ``within`` from now (the officers' review queue)."""
    moment = (now or datetime.now(UTC)) + within
    query = (
        select(Organization)
        .where(Organization.kyc_status == KycStatus.APPROVED.value, Organization.next_review_at <= moment)
        .order_by(Organization.next_review_at)
    )
    return list(session.execute(query).scalars().all())


def purge_stale(session: Session, *, now: datetime | None = None) -> int:
    """Delete SIWE challenges and idempotency records older than a day (neither is evidence: the audit log is)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=1)
    removed = session.execute(delete(SiweChallenge).where(SiweChallenge.expires_at < cutoff)).rowcount  # type: ignore[attr-defined]
    removed += session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)).rowcount  # type: ignore[attr-defined]
    session.commit()
    return int(removed)


def expire_lapsed(session: Session, *, now: datetime | None = None) -> list[Organization]:
    """Mark approved members whose KYC expired. The registry already stops verifying their wallets at the
    expiry it was given; this brings our record in line and logs the decision."""
    moment = now or datetime.now(UTC)
    query = select(Organization).where(
        Organization.kyc_status.in_([KycStatus.APPROVED.value, KycStatus.FROZEN.value]),
        Organization.kyc_expiry <= moment,
    )
    lapsed = list(session.execute(query).scalars().all())
    for organization in lapsed:
        organization.kyc_status = KycStatus.EXPIRED.value
        audit_log.append(
            session,
            actor="system:kyc",
            action="kyc.expired",
            object_type="organization",
            object_id=str(organization.id),
            change={"kyc_expiry": organization.kyc_expiry},
        )
    session.commit()
    return lapsed
