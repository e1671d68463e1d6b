"""Fills that open on a later day (tom-next, forward starts): binding from their match, they wait ``scheduled``
until the chain's clock reaches their opening day, when the indexer's sweep plans and queues each exactly as a
same-day fill is queued at its match (``gateway.matching.settle``): the bond chosen from the borrower's holdings
then, approvals, ``settleGcFill``. Their amount counts against the pair's credit limits from the match.

Planning reads the chain, so it happens before the sweep's write transaction (``plan_due``); queueing happens in it
(``open_due``), each fill claimed by a conditional update so that it is queued once whoever else sweeps."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.chain.outage import is_outage
from gateway.matching import settle
from gateway.matching.models import FillStatus, GcFill
from gateway.settlement.market import Market

logger = logging.getLogger(__name__)
BATCH = 50  # fills planned per sweep: the rest wait for the next one, seconds later


def plan_due(market: Market, read_sessions: Callable[[], Session], chain_time: int) -> dict[int, settle.FillPlan]:
    """The plan of each scheduled fill whose opening day has begun by ``chain_time`` (chain reads between reads of
    ``read_sessions``, which never hold the write lock), by fill sequence."""
    with read_sessions() as session:
        due = session.scalars(
            select(GcFill)
            .where(GcFill.status == FillStatus.SCHEDULED.value, GcFill.opens_at <= chain_time)
            .order_by(GcFill.opens_at, GcFill.sequence)
            .limit(BATCH)
        ).all()
        plans: dict[int, settle.FillPlan] = {}
        for fill in due:
            try:
                plans[fill.sequence] = settle.plan(
                    market, session, settle.parties_of(session, fill), int(fill.amount_units)
                )
            except Exception as exc:
                if is_outage(exc):
                    raise
                logger.exception("GC fill %s: its plan failed; trying again at the next sweep", fill.sequence)
        return plans


def open_due(session: Session, market: Market, plans: dict[int, settle.FillPlan]) -> int:
    """Queue each planned fill still ``scheduled`` (in the caller's transaction); how many. A plan that still finds
    its day not begun (the chain's clock read before it), or a failure that may pass (no bond priced yet that
    morning), leaves the fill for the next sweep; past the day's end the plan fails it for good."""
    queued = 0
    for sequence, chosen in plans.items():
        if chosen.opens_at is not None or chosen.passing:
            continue
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
    return queued
