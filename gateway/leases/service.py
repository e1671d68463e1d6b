"""Acquire, renew, release and check a service lease, each a compare-and-set in the caller's one transaction.

A holder acquires a free or expired lease (its token goes up by one) or renews its own unexpired one (same token);
anyone else is refused with the holder and expiry. The update is conditional on the token read, so two replicas
racing for one expired lease cannot both win: the loser's update matches no row. ``check`` is the fence: a write
that carries a token other than the lease's current one comes from a stale leader and is refused (409)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.db.models import utcnow
from gateway.leases.exceptions import LeaseHeld, StaleLease
from gateway.leases.models import LeaseKind, ServiceLease

MIN_TTL, MAX_TTL = 0.5, 30.0


@dataclass(frozen=True)
class Held:
    kind: LeaseKind
    holder: str
    token: int
    ttl_seconds: float


def acquire(session: Session, kind: LeaseKind, org_id: uuid.UUID, holder: str, ttl: float) -> Held:
    """Take or renew the lease for ``holder``; raises ``LeaseHeld`` while another holds it unexpired."""
    ttl = min(max(ttl, MIN_TTL), MAX_TTL)
    now = utcnow()
    until = now + timedelta(seconds=ttl)
    row = session.get(ServiceLease, (kind.value, org_id), populate_existing=True)
    if row is None:
        try:
            with session.begin_nested():
                session.add(ServiceLease(kind=kind.value, org_id=org_id, holder=holder, token=1, expires_at=until))
        except IntegrityError as exc:  # another replica inserted it first
            raise LeaseHeld(f"{kind.value} lease taken by another instance") from exc
        return Held(kind, holder, 1, ttl)
    seen, mine, live = row.token, row.holder == holder, row.expires_at > now
    if live and not mine:
        left = (row.expires_at - now).total_seconds()
        raise LeaseHeld(f"{kind.value} lease held by {row.holder} for {left:.1f} s more")
    token = seen if (mine and live) else seen + 1
    changed = session.execute(
        update(ServiceLease)
        .where(ServiceLease.kind == kind.value, ServiceLease.org_id == org_id, ServiceLease.token == seen)
        .values(holder=holder, token=token, expires_at=until)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseHeld(f"{kind.value} lease taken by another instance")
    return Held(kind, holder, token, ttl)


def release(session: Session, kind: LeaseKind, org_id: uuid.UUID, holder: str) -> bool:
    """Expire the lease now if ``holder`` holds it (a standby takes over at once); False if it did not."""
    changed = session.execute(
        update(ServiceLease)
        .where(ServiceLease.kind == kind.value, ServiceLease.org_id == org_id, ServiceLease.holder == holder)
        .values(expires_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(changed.rowcount == 1)  # type: ignore[attr-defined]


def check(session: Session, kind: LeaseKind, org_id: uuid.UUID, token: int | None, *, lock: bool = True) -> None:
    """The fence on a service's write: no token, no check (one instance, the embedded ``reponet up``); a token
    that is not the lease's current one is refused. Locks the row for share on PostgreSQL until the write commits,
    so the lease cannot change hands under it. ``lock=False`` on a read session: an early refusal before a route's
    chain reads (the write transaction checks again, locked)."""
    if token is None:
        return
    query = select(ServiceLease.token).where(ServiceLease.kind == kind.value, ServiceLease.org_id == org_id)
    current = session.scalar(query.with_for_update(read=True) if lock else query)
    if current != token:
        raise StaleLease(f"{kind.value} lease token {token} is not the current one ({current})")
