"""Credit given back: a fill's amount stops counting against the pair's limits once its repo has ended (repurchased
or closed out) or the fill failed to settle. The book hears it as a ``release`` instruction, queued once per fill
(``GcFill.credit_released_at``) in the transaction that saw the end: the indexer's for a repo, the answer's or the
settlement's for a failure."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.chain.bindings.engine import RepoStatus
from gateway.db.models import utcnow
from gateway.matching import instructions
from gateway.matching.models import GcFill, GcOrder

ENDED = frozenset({RepoStatus.REPURCHASED.value, RepoStatus.CLOSED_OUT.value})


def release_fill(session: Session, fill: GcFill) -> bool:
    """Queue the fill's release unless it was released already; whether it was queued now."""
    if fill.credit_released_at is not None:
        return False
    lend, borrow = session.get(GcOrder, fill.lend_order_id), session.get(GcOrder, fill.borrow_order_id)
    assert lend is not None and borrow is not None  # foreign keys
    fill.credit_released_at = utcnow()
    instructions.add(
        session,
        action="release",
        payload={
            "lender": str(lend.organization_id),
            "borrower": str(borrow.organization_id),
            "amount_units": fill.amount_units,
        },
    )
    return True


def repo_ended(session: Session, repo_id: int, status: str) -> bool:
    """The indexer saw ``repo_id`` reach ``status``: a GC fill's repo that ended gives its credit back."""
    if status not in ENDED:
        return False
    fill = session.scalars(select(GcFill).where(GcFill.repo_id == repo_id)).first()
    return fill is not None and release_fill(session, fill)
