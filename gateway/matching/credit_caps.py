"""A pair's GC credit limits bounded by its margin agreement: the effective agreement's ``gc_credit_cap_units`` (both
members proposed and approved it) is the most either member's limit toward the other may count for on the book. Each
member's own limit (``PUT /v1/gc/credit-limits``, its member administrators) stays what it set; the book is told
the smaller of the two, again whenever either changes. An agreement can only tighten what a member allowed, so the
traders' approvers who agree its terms cannot raise a limit its administrators set.

The risk package tells this one when an agreement takes effect (``agreement_took_effect``); the cap is kept here
(``GcPairCap``), so the book's checks read no risk table."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from gateway.db.models import utcnow
from gateway.matching import instructions
from gateway.matching.models import GcCreditLimit, GcPairCap


def ordered_pair(x: uuid.UUID, y: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """Two members as agreements (and caps) key them: the lower id first."""
    return (x, y) if str(x) < str(y) else (y, x)


def cap(session: Session, member: uuid.UUID, counterparty: uuid.UUID) -> int | None:
    """The pair's agreed GC cap in smallest units; None without one."""
    row = session.get(GcPairCap, ordered_pair(member, counterparty))
    return int(row.cap_units) if row is not None and row.cap_units is not None else None


def bounded(own_units: int, cap_units: int | None) -> int:
    """What the book counts of a member's own limit toward a counterparty: at most the pair's cap."""
    return own_units if cap_units is None else min(own_units, cap_units)


def agreement_took_effect(session: Session, member_a: uuid.UUID, member_b: uuid.UUID, cap_units: int | None) -> None:
    """A new agreement version of the pair took effect with ``cap_units``: keep it and tell the book each limit of
    the pair anew (the caller commits)."""
    instructions.lock(session)  # a limit set at once waits for this, or is seen by it
    key = ordered_pair(member_a, member_b)
    row = session.get(GcPairCap, key, populate_existing=True)
    if row is None:
        row = GcPairCap(member_a=key[0], member_b=key[1])
        session.add(row)
    row.cap_units, row.updated_at = (str(cap_units) if cap_units is not None else None), utcnow()
    for member, counterparty in ((key[0], key[1]), (key[1], key[0])):
        limit = session.get(GcCreditLimit, (member, counterparty), populate_existing=True)
        if limit is not None:
            instructions.tell_limit(
                session,
                member=member,
                counterparty=counterparty,
                limit_units=bounded(int(limit.limit_units), cap_units),
            )
