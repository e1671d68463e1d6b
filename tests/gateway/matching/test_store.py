"""The book survives a restart: outcomes written to gc_orders/gc_fills, and the engine rebuilt from the rows with
the same depth and the same time priority."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models import Organization
from gateway.db.session import make_engine, make_session_factory
from gateway.matching.book import Book
from gateway.matching.credit import CreditLimits
from gateway.matching.models import GcFill, GcOrder
from gateway.matching.orders import Order, Side, TimeInForce
from gateway.matching.store import load_book, new_order_row, record_cancellations, record_outcome
from tests.gateway.matching.factories import BP, ON, ONE_WEEK


def _credit(orgs: list[uuid.UUID]) -> CreditLimits:
    credit = CreditLimits()
    for a in orgs:
        for b in orgs:
            if a != b:
                credit.set_limit(member=str(a), counterparty=str(b), limit_units=10**9)
    return credit


def _submit(session: Session, book: Book, org: uuid.UUID, client_id: str, side: Side, rate_bp: int, size: int,
            tif: TimeInForce = TimeInForce.LIMIT) -> Order:  # fmt: skip
    order = Order(str(uuid.uuid4()), str(org), ON, side, rate_bp * BP, size, 1, tif)
    session.add(new_order_row(organization_id=org, client_order_id=client_id, order=order))
    record_outcome(session, book, book.submit(order))
    return order


def test_outcomes_persist_and_the_book_reloads_in_priority(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    orgs = [uuid.uuid4() for _ in range(3)]
    with sessions.begin() as session:
        for n, org in enumerate(orgs):
            session.add(Organization(id=org, name=f"m{n}", lei=f"LEI{n:017d}", jurisdiction="DE"))
    book = Book(instruments=[ON, ONE_WEEK], credit=_credit(orgs))
    with sessions.begin() as session:
        first = _submit(session, book, orgs[0], "a-1", Side.LEND, 340, 100)
        second = _submit(session, book, orgs[1], "b-1", Side.LEND, 340, 100)
        gone = _submit(session, book, orgs[1], "b-2", Side.LEND, 360, 100)
        taker = _submit(session, book, orgs[2], "c-1", Side.BORROW, 345, 60, TimeInForce.IOC)
        record_cancellations(session, [book.cancel(gone.order_id)])
    with sessions.begin() as session:
        status = {str(r.id): (r.status, r.filled_units, r.cancel_reason) for r in session.scalars(select(GcOrder))}
        fills = [
            (str(f.lend_order_id), str(f.borrow_order_id), f.rate, f.amount_units)
            for f in session.scalars(select(GcFill))
        ]
    assert status == {
        first.order_id: ("resting", "60", None),
        second.order_id: ("resting", "0", None),
        gone.order_id: ("cancelled", "0", "member"),
        taker.order_id: ("filled", "60", None),
    }
    assert fills == [(first.order_id, taker.order_id, str(340 * BP), "60")]

    with sessions.begin() as session:  # a restart: the engine from the rows alone
        again = load_book(session, instruments=[ON, ONE_WEEK], credit=_credit(orgs))
    assert again.depth(ON) == book.depth(ON)
    with sessions.begin() as session:
        probe = _submit(session, again, orgs[2], "c-2", Side.BORROW, 340, 50, TimeInForce.IOC)
    with sessions.begin() as session:
        rows = {str(r.id): (r.status, r.filled_units) for r in session.scalars(select(GcOrder))}
    assert rows[first.order_id] == ("filled", "100")  # first in time priority still, after the reload
    assert rows[second.order_id] == ("resting", "10")
    assert rows[probe.order_id] == ("filled", "50")
    engine.dispose()
