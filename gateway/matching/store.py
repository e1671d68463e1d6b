"""The book's rows: every engine outcome written in the caller's transaction, and the engine rebuilt from them.

The engine's order id is the row's UUID and its member the organization's id, so the rows carry the names the
engine never shows: a fill is attributed to two orders, and each order to its member."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db.models import utcnow
from gateway.matching.book import Book
from gateway.matching.credit import CreditLimits
from gateway.matching.instruments import Instrument, Tenor
from gateway.matching.models import GcFill, GcOrder
from gateway.matching.orders import (
    Cancellation,
    CancelReason,
    Order,
    OrderStatus,
    Outcome,
    Side,
    TimeInForce,
)

_CLOSED_BY = {
    CancelReason.SESSION_END: OrderStatus.EXPIRED,
    CancelReason.FOK_NOT_FILLABLE: OrderStatus.REJECTED,
}


def new_order_row(*, organization_id: uuid.UUID, client_order_id: str, order: Order) -> GcOrder:
    """The row for an order about to enter the book (its id is the engine's order id)."""
    return GcOrder(
        id=uuid.UUID(order.order_id),
        organization_id=organization_id,
        client_order_id=client_order_id,
        basket_id=order.instrument.basket_id,
        tenor=order.instrument.tenor.value,
        forward_start_days=order.instrument.forward_start_days,
        side=order.side.value,
        tif=order.tif.value,
        rate=str(order.rate_e18),
        size_units=str(order.size_units),
        min_fill_units=str(order.min_fill_units),
        filled_units="0",
        status=OrderStatus.RESTING.value,
        priority=0,
    )


def record_outcome(session: Session, book: Book, outcome: Outcome) -> None:
    """Write a submit's or amend's outcome: the fills, and every touched order's filled amount and status."""
    rows = _rows(session, _touched(outcome))
    for fill in outcome.fills:
        session.add(
            GcFill(
                sequence=fill.sequence,
                lend_order_id=uuid.UUID(fill.lend_order_id),
                borrow_order_id=uuid.UUID(fill.borrow_order_id),
                basket_id=fill.instrument.basket_id,
                tenor=fill.instrument.tenor.value,
                forward_start_days=fill.instrument.forward_start_days,
                rate=str(fill.rate_e18),
                amount_units=str(fill.amount_units),
                aggressor=fill.aggressor.value,
            )
        )
        for order_id in (fill.lend_order_id, fill.borrow_order_id):
            row = rows[order_id]
            row.filled_units = str(int(row.filled_units) + fill.amount_units)
    record_cancellations(session, outcome.cancellations, rows=rows)
    for order_id, row in rows.items():
        resting = book.resting(order_id)
        if resting is not None:
            row.status, row.priority = OrderStatus.RESTING.value, resting.priority
            row.rate, row.size_units = str(resting.order.rate_e18), str(resting.order.size_units)
        elif row.status == OrderStatus.RESTING.value:
            row.status = OrderStatus.FILLED.value
        row.updated_at = utcnow()
    rows[outcome.order_id].status = outcome.status.value


def record_cancellations(
    session: Session, cancellations: Iterable[Cancellation], *, rows: dict[str, GcOrder] | None = None
) -> None:
    """Mark cancelled, expired (session end) or rejected (FOK) orders."""
    cancellations = list(cancellations)
    rows = rows if rows is not None else _rows(session, {c.order_id for c in cancellations})
    for cancellation in cancellations:
        row = rows[cancellation.order_id]
        row.status = _CLOSED_BY.get(cancellation.reason, OrderStatus.CANCELLED).value
        row.cancel_reason = cancellation.reason.value
        row.updated_at = utcnow()


def load_book(session: Session, *, instruments: Iterable[Instrument], credit: CreditLimits) -> Book:
    """The engine as the rows left it: resting orders back in their time priority."""
    last = session.scalar(select(func.max(GcFill.sequence))) or 0
    book = Book(instruments=instruments, credit=credit, last_fill_sequence=last)
    resting = session.scalars(
        select(GcOrder).where(GcOrder.status == OrderStatus.RESTING.value).order_by(GcOrder.priority)
    )
    for row in resting:
        book.restore(to_order(row), filled_units=int(row.filled_units), priority=row.priority)
    return book


def to_order(row: GcOrder) -> Order:
    return Order(
        order_id=str(row.id),
        member=str(row.organization_id),
        instrument=Instrument(row.basket_id, Tenor(row.tenor), row.forward_start_days),
        side=Side(row.side),
        rate_e18=int(row.rate),
        size_units=int(row.size_units),
        min_fill_units=int(row.min_fill_units),
        tif=TimeInForce(row.tif),
    )


def _touched(outcome: Outcome) -> set[str]:
    ids = {outcome.order_id} | {c.order_id for c in outcome.cancellations}
    for fill in outcome.fills:
        ids.update((fill.lend_order_id, fill.borrow_order_id))
    return ids


def _rows(session: Session, order_ids: set[str]) -> dict[str, GcOrder]:
    found = session.scalars(select(GcOrder).where(GcOrder.id.in_([uuid.UUID(i) for i in order_ids])))
    return {str(row.id): row for row in found}
