"""Fills that open on a later day (tom-next, forward starts): binding from their match, they wait ``scheduled``
until the chain's clock reaches their opening day, when the indexer's sweep plans and queues each exactly as a
same-day fill is queued at its match (``gateway.matching.settle``): the bond chosen from the borrower's holdings
then, approvals, ``settleGcFill``. Their amount counts against the pair's credit limits from the match.

Planning reads the chain, so it happens before the sweep's write transaction (``ScheduledSweep.plan_due``);
queueing happens in it (``open_due``), each fill claimed by a conditional update so that it is queued once whoever
else sweeps. A sweep plans a batch, going round the due fills so that some that keep waiting (no price yet that
morning) never hold the others back; past its opening day a fill fails without a chain read."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.chain.outage import is_outage
from gateway.matching import settle
from gateway.matching.entry import signed_message
from gateway.matching.models import FillStatus, GcFill
from gateway.settlement.market import Market

logger = logging.getLogger(__name__)
BATCH = 50  # fills planned per sweep: the rest wait for the next one, seconds later


class ScheduledSweep:
    """The due fills' plans, a batch per sweep, going round them from where the last sweep stopped."""

    def __init__(self) -> None:
        self._after = -1  # the last fill sequence planned

    def plan_due(
        self, market: Market, read_sessions: Callable[[], Session], chain_time: int
    ) -> dict[int, settle.FillPlan]:
        """The plan of each of a batch of scheduled fills whose opening day has begun by ``chain_time`` (chain
        reads between reads of ``read_sessions``, which never hold the write lock), by fill sequence."""
        due = GcFill.status == FillStatus.SCHEDULED.value, GcFill.opens_at <= chain_time
        with read_sessions() as session:
            batch = list(
                session.scalars(
                    select(GcFill).where(*due, GcFill.sequence > self._after).order_by(GcFill.sequence).limit(BATCH)
                )
            )
            if len(batch) < BATCH:  # round again from the first
                batch += session.scalars(
                    select(GcFill)
                    .where(*due, GcFill.sequence <= self._after)
                    .order_by(GcFill.sequence)
                    .limit(BATCH - len(batch))
                )
            plans: dict[int, settle.FillPlan] = {}
            for fill in batch:
                self._after = fill.sequence
                try:
                    parties = settle.parties_of(session, fill)
                    deadline = min(int(signed_message(o)["deadline"]) for o in (parties.lend, parties.borrow))
                    if chain_time > deadline:
                        plans[fill.sequence] = settle.FillPlan(failure=settle.UNSETTLEABLE, detail=DAY_ENDED)
                        continue
                    plans[fill.sequence] = settle.plan(market, session, parties, int(fill.amount_units))
                except Exception as exc:
                    if is_outage(exc):
                        raise
                    logger.exception("GC fill %s: its plan failed; trying again at a later sweep", fill.sequence)
        return plans


DAY_ENDED = "the fill's opening day ended before it could open"


def open_due(session: Session, market: Market, plans: dict[int, settle.FillPlan]) -> int:
    """Queue each planned fill still ``scheduled`` (in the caller's transaction); how many. A plan that still finds
    its day not begun (the chain's clock read before it), or a failure that may pass (no bond priced yet that
    morning), leaves the fill for a later sweep; past the day's end the plan fails it for good. A fill that cannot
    be queued (a consent missing, say) is logged and left scheduled: it never stops the sweep."""
    queued = 0
    for sequence, chosen in plans.items():
        if chosen.opens_at is not None or chosen.passing:
            continue
        try:
            with session.begin_nested():
                claimed = session.execute(
                    update(GcFill)
                    .where(GcFill.sequence == sequence, GcFill.status == FillStatus.SCHEDULED.value)
                    .values(status=FillStatus.SETTLING.value)
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]
                if claimed != 1:
                    continue
                fill = session.get(GcFill, sequence)
                assert fill is not None
                session.refresh(fill)
                settle.enqueue_fill(session, market, fill, settle.parties_of(session, fill), chosen)
                queued += 1
        except Exception:
            logger.exception("GC fill %s: could not be queued; trying again at a later sweep", sequence)
    return queued
