"""Reads of the GC book for the API: anonymous depth from the resting rows, and one member's orders."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.matching.instruments import Instrument
from gateway.matching.levels import DepthLevel
from gateway.matching.models import GcOrder
from gateway.matching.orders import OrderStatus, Side


def depth(session: Session, instrument: Instrument, *, levels: int) -> dict[Side, list[DepthLevel]]:
    """Per side, the best ``levels`` rates with the cash resting at each and how many orders."""
    rows = session.scalars(
        select(GcOrder).where(
            GcOrder.status == OrderStatus.RESTING.value,
            GcOrder.basket_id == instrument.basket_id,
            GcOrder.tenor == instrument.tenor.value,
            GcOrder.forward_start_days == instrument.forward_start_days,
        )
    )
    totals: dict[Side, dict[int, list[int]]] = {Side.LEND: {}, Side.BORROW: {}}
    for row in rows:
        level = totals[Side(row.side)].setdefault(int(row.rate), [0, 0])
        level[0] += int(row.size_units) - int(row.filled_units)
        level[1] += 1
    answer: dict[Side, list[DepthLevel]] = {}
    for side, by_rate in totals.items():
        best = sorted(by_rate, reverse=side is Side.BORROW)[:levels]
        answer[side] = [DepthLevel(rate_e18=r, total_units=by_rate[r][0], orders=by_rate[r][1]) for r in best]
    return answer
