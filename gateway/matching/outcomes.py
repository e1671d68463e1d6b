"""The matching service's answers, recorded: each order's status and filled amount, each fill, and each fill's
settlement queued (``gateway.matching.settle``).

The gateway checks every fill against the two orders as their members signed them before it records anything (the
engine checks again on chain): a lend and a borrow order of two members, in one instrument, the rate within both
bounds, the amount at least both minimum fills, and neither order filled beyond its size. An outcome that breaks
one is refused whole. An outcome is recorded once: a repeat (the service re-sending after a lost answer, or
replaying its book after a restart) changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.db.models import utcnow
from gateway.exceptions import InvalidRequest, NotFound
from gateway.matching import baskets
from gateway.matching.entry import LIVE
from gateway.matching.models import GcFill, GcInstruction, GcOrder
from gateway.matching.orders import CancelReason, OrderStatus, Side
from gateway.matching.schemas import FillIn, OutcomeIn
from gateway.matching.settle import FillParties, FillPlan, enqueue_fill
from gateway.settlement.market import Market


@dataclass
class Prepared:
    """An outcome checked against the orders (read session): its fills with their orders and basket."""

    answered: bool
    fills: list[tuple[FillIn, FillParties]] = field(default_factory=list)


def prepare(session: Session, body: OutcomeIn) -> Prepared:
    """Check an outcome against the orders; ``answered`` when it was recorded before."""
    instruction = session.get(GcInstruction, body.sequence)
    if instruction is None:
        raise NotFound(f"no GC instruction {body.sequence}")
    if instruction.answered_at is not None:
        return Prepared(answered=True)
    ids = {f.lend_order_id for f in body.fills} | {f.borrow_order_id for f in body.fills}
    ids |= {o.order_id for o in body.orders}
    orders = {o.id: o for o in session.scalars(select(GcOrder).where(GcOrder.id.in_(ids)))}
    missing = ids - orders.keys()
    if missing:
        raise InvalidRequest(f"the outcome names unknown orders: {sorted(map(str, missing))}")
    filled = {order_id: int(order.filled_units) for order_id, order in orders.items()}
    prepared = Prepared(answered=False)
    for fill in body.fills:
        lend, borrow = orders[fill.lend_order_id], orders[fill.borrow_order_id]
        _check_fill(fill, lend, borrow, filled)
        prepared.fills.append(
            (fill, FillParties(lend=lend, borrow=borrow, basket=baskets.load_basket(session, lend.basket_id)))
        )
    return prepared


def _check_fill(fill: FillIn, lend: GcOrder, borrow: GcOrder, filled: dict[uuid.UUID, int]) -> None:
    amount, rate = int(fill.amount_units), int(fill.rate)
    if lend.side != Side.LEND.value or borrow.side != Side.BORROW.value:
        raise InvalidRequest(f"fill {fill.sequence}: not a lend order against a borrow order")
    if lend.organization_id == borrow.organization_id:
        raise InvalidRequest(f"fill {fill.sequence}: a member cannot trade with itself")
    if (lend.basket_id, lend.tenor, lend.forward_start_days) != (
        borrow.basket_id,
        borrow.tenor,
        borrow.forward_start_days,
    ):
        raise InvalidRequest(f"fill {fill.sequence}: the orders trade different instruments")
    if not int(lend.rate) <= rate <= int(borrow.rate):
        raise InvalidRequest(f"fill {fill.sequence}: rate {rate} outside the orders' bounds")
    for order in (lend, borrow):
        if amount < int(order.min_fill_units):
            raise InvalidRequest(f"fill {fill.sequence}: below order {order.id}'s minimum fill")
        filled[order.id] += amount
        if filled[order.id] > int(order.size_units):
            raise InvalidRequest(f"fill {fill.sequence}: order {order.id} would fill beyond its size")
        if order.status not in LIVE:
            raise InvalidRequest(f"fill {fill.sequence}: order {order.id} is {order.status}")


def record(session: Session, body: OutcomeIn, prepared: Prepared, plans: dict[int, FillPlan], market: Market) -> bool:
    """Record the outcome and queue its fills' settlements (the caller commits); False if it was recorded before
    (the instruction is claimed with a guarded update, so two posts of one outcome record it once)."""
    claimed = session.execute(
        update(GcInstruction)
        .where(GcInstruction.sequence == body.sequence, GcInstruction.answered_at.is_(None))
        .values(answered_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        return False
    ids = {f.lend_order_id for f in body.fills} | {f.borrow_order_id for f in body.fills}
    ids |= {o.order_id for o in body.orders}
    rows = {o.id: o for o in session.scalars(select(GcOrder).where(GcOrder.id.in_(ids)))}
    now = utcnow()
    for state in body.orders:
        row = rows[state.order_id]
        status = OrderStatus.EXPIRED.value if state.cancel_reason == CancelReason.SESSION_END.value else state.status
        row.status, row.cancel_reason, row.updated_at = status, state.cancel_reason, now
        if row.priority == 0:
            row.priority = body.sequence
    for fill, parties in prepared.fills:
        amount = int(fill.amount_units)
        for order_id in (fill.lend_order_id, fill.borrow_order_id):
            row = rows[order_id]
            row.filled_units = str(int(row.filled_units) + amount)
            if int(row.filled_units) >= int(row.size_units) and row.status in LIVE:
                row.status = OrderStatus.FILLED.value
            row.updated_at = now
        lend = parties.lend
        entry = GcFill(
            sequence=fill.sequence,
            lend_order_id=fill.lend_order_id,
            borrow_order_id=fill.borrow_order_id,
            basket_id=lend.basket_id,
            tenor=lend.tenor,
            forward_start_days=lend.forward_start_days,
            rate=str(int(fill.rate)),
            amount_units=str(amount),
            aggressor=Side.LEND.value if rows[fill.lend_order_id].priority == body.sequence else Side.BORROW.value,
        )
        session.add(entry)
        session.flush()
        enqueue_fill(session, market, entry, parties, plans[fill.sequence])
    return True
