"""Amending a GC order: a member lowers a live order's size (it keeps its priority and its signature); the book
hears it in sequence, and the gateway's size follows only once the book has taken it, so a fill the book made
before the amend is never refused for the lower size. A higher size, a size below the minimum fill left, or an
ended order is refused and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any, cast

import pytest
from sqlalchemy import select

from gateway.matching import instructions, outcomes
from gateway.matching.book import Book
from gateway.matching.credit import CreditLimits
from gateway.matching.instruments import Instrument, Tenor
from gateway.matching.models import GcInstruction, GcOrder
from gateway.matching.runner import AmendWire, InstructionWire, OrderWire, apply
from gateway.matching.schemas import OutcomeIn
from tests.gateway.conftest import Cast, World
from tests.gateway.market import step_up
from tests.gateway.matching.test_outcome_checks import SIZE, _order, book

__all__ = ["book"]


def _amend(cast_: Cast, order_id: uuid.UUID, size: int) -> Any:
    trader = cast_.a_trader
    step_up(trader)
    return trader.client.patch(f"/v1/gc/orders/{order_id}", json={"size_units": str(size)}, headers=trader.headers)


def _amends(world: World) -> list[GcInstruction]:
    with world.ctx.sessions() as session:
        return list(session.scalars(select(GcInstruction).where(GcInstruction.action == "amend")).all())


def _answer(world: World, sequence: int, *, refused: str | None = None) -> None:
    with world.ctx.sessions() as session:
        outcomes.record(session, OutcomeIn(sequence=sequence, refused=refused), {}, cast(Any, None))  # no fills
        session.commit()


def _size(world: World, order_id: uuid.UUID) -> str:
    with world.ctx.sessions() as session:
        row = session.get(GcOrder, order_id)
        assert row is not None
        return row.size_units


def test_a_lower_size_is_asked_of_the_book_and_taken_once_it_answers(book: World, cast: Cast) -> None:
    order = _order(book, "a", "borrow", 5)
    answer = _amend(cast, order, 600)
    assert answer.status_code == 202, answer.text
    assert answer.json()["size_units"] == str(SIZE)  # not before the book has taken it
    (amend,) = _amends(book)
    assert (amend.order_id, amend.payload) == (order, {"size_units": "600"})
    _answer(book, amend.sequence)
    assert _size(book, order) == "600"


def test_an_amend_the_book_refused_changes_nothing(book: World, cast: Cast) -> None:
    order = _order(book, "a", "borrow", 5)
    assert _amend(cast, order, 600).status_code == 202
    (amend,) = _amends(book)
    _answer(book, amend.sequence, refused="the amended size leaves less than the minimum fill unfilled")
    assert _size(book, order) == str(SIZE)
    with book.ctx.sessions() as session:
        row = session.get(GcOrder, order)
        assert row is not None and row.status == "resting"  # a refused amend is not a rejected order


@pytest.mark.parametrize(
    ("size", "fields", "status", "reason"),
    [
        (SIZE, {}, 400, "only lowers the size"),
        (SIZE * 2, {}, 400, "only lowers the size"),
        (150, {"filled_units": "100"}, 400, "less than the minimum fill"),
        (500, {"status": "filled"}, 409, "nothing to amend"),
    ],
)
def test_an_amend_out_of_bounds_is_refused(
    book: World, cast: Cast, size: int, fields: dict[str, str], status: int, reason: str
) -> None:
    order = _order(book, "a", "borrow", 5, **fields)
    answer = _amend(cast, order, size)
    assert answer.status_code == status and reason in answer.json()["detail"], answer.text
    assert _amends(book) == []


def test_another_members_order_is_not_found(book: World, cast: Cast) -> None:
    order = _order(book, "b", "lend", 3)
    assert _amend(cast, order, 500).status_code == 404
    assert _amends(book) == []


def test_the_book_keeps_the_amended_orders_priority() -> None:
    credit = CreditLimits()
    for member, other in (("A", "C"), ("C", "A"), ("B", "C"), ("C", "B")):
        credit.set_limit(member=member, counterparty=other, limit_units=10_000)
    book = Book(instruments=[Instrument("GC", Tenor.ONE_WEEK)], credit=credit)

    def submit(sequence: int, order_id: str, member: str, side: str, size: int) -> dict[str, Any]:
        order = OrderWire(order_id=order_id, member=member, basket_id="GC", tenor="1W", forward_start_days=0,
                          side=side, tif="limit", rate=str(4 * 10**16), size_units=str(size),
                          min_fill_units="1")  # fmt: skip
        return dict(apply(book, InstructionWire(sequence=sequence, action="submit", order=order, order_id=None,
                                                credit=None)))  # fmt: skip

    submit(1, "first", "A", "borrow", 1_000)
    submit(2, "second", "B", "borrow", 1_000)
    amend = InstructionWire(sequence=3, action="amend", order=None, order_id="first", credit=None,
                            amend=AmendWire(size_units="300"))  # fmt: skip
    assert apply(book, amend)["refused"] is None
    fills = submit(4, "lend", "C", "lend", 500)["fills"]
    assert [(f["borrow_order_id"], f["amount_units"]) for f in fills] == [("first", "300"), ("second", "200")]


def test_a_replay_enters_the_order_as_signed_and_then_amends_it(book: World, cast: Cast) -> None:
    order = _order(book, "a", "borrow", 5, status="pending", signed={"size": str(SIZE)})
    with book.ctx.sessions.begin() as session:
        submit = instructions.add(session, action="submit", order_id=order).sequence
    _answer(book, submit)
    assert _amend(cast, order, 600).status_code == 202
    (amend,) = _amends(book)
    _answer(book, amend.sequence)
    assert _size(book, order) == "600"
    with book.ctx.sessions() as session:  # what a matching service restarting from the first instruction reads
        wires = {w["action"]: w for w in instructions.after(session, submit - 1, 10)}
    assert wires["submit"]["order"] is not None and wires["submit"]["order"]["size_units"] == str(SIZE)
    assert wires["amend"].get("amend") == {"size_units": "600"}
