"""The end of the trading day: the book is told to expire each live order entered that day, once (an ``expire``
instruction, answered with the order ``expired``), at its ``expires_at``. A same-day order's signed deadline is that
moment too, after which the engine refuses its fills; a tom-next or forward-starting order signs its opening day's
end, so that the fills the book made today can open then. Run by the indexer's sweep on the chain's clock
(gateway.indexer.expiry)."""

from __future__ import annotations

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from gateway.db.models import utcnow
from gateway.matching import instructions
from gateway.matching.entry import LIVE, UNSIGNED
from gateway.matching.models import GcInstruction, GcOrder


def expire_overdue(session: Session, chain_time: int) -> int:
    """Queue an ``expire`` for each live order whose trading day ended before ``chain_time`` and has none yet (in the
    caller's transaction); how many. An order still awaiting its self-held signature never reached the book: it
    just expires."""
    overdue_unsigned = GcOrder.status == UNSIGNED, GcOrder.expires_at.is_not(None), GcOrder.expires_at < chain_time
    if session.scalars(select(GcOrder.id).where(*overdue_unsigned).limit(1)).first() is not None:  # write only then
        session.execute(
            update(GcOrder)
            .where(*overdue_unsigned)
            .values(status="expired", cancel_reason="session_end", updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    asked = exists().where(GcInstruction.order_id == GcOrder.id, GcInstruction.action == "expire")
    overdue = session.scalars(
        select(GcOrder.id)
        .where(GcOrder.status.in_(LIVE), GcOrder.expires_at.is_not(None), GcOrder.expires_at < chain_time, ~asked)
        .order_by(GcOrder.created_at)
    ).all()
    for order_id in overdue:
        instructions.add(session, action="expire", order_id=order_id)
    return len(overdue)
