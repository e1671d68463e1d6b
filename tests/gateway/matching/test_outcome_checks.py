"""The gateway's checks of the matching service's answers (``gateway.matching.outcomes.prepare``), each alone: a
fill outside either signed order, between orders that do not pair, on an ended or withdrawn order, without credit
both ways, or repeating a sequence, is refused; an answer out of turn waits; an answer recorded is not recorded
again."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select, update

from gateway.db.models import utcnow
from gateway.exceptions import Conflict, InvalidRequest
from gateway.matching import instructions, outcomes
from gateway.matching.models import GcBasketRow, GcFill, GcInstruction, GcOrder
from gateway.matching.schemas import FillIn, OutcomeIn
from tests.gateway.conftest import World

SIZE = 1_000


def _order(world: World, org: str, side: str, rate: int, **fields: object) -> uuid.UUID:
    with world.ctx.sessions.begin() as session:
        row = GcOrder(
            id=uuid.uuid4(), organization_id=world.orgs[org], client_order_id=uuid.uuid4().hex, basket_id="GC-A",
            tenor="1W", forward_start_days=0, side=side, tif="limit", rate=str(rate), size_units=str(SIZE),
            min_fill_units="100", filled_units="0", status="resting", priority=1,
        )  # fmt: skip
        for name, value in fields.items():
            setattr(row, name, value)
        session.add(row)
        return row.id


@pytest.fixture
def book(world: World) -> World:
    with world.ctx.sessions.begin() as session:
        session.add(
            GcBasketRow(
                basket_id="GC-A", cash_token="0x" + "11" * 20, day_count_basis=360, min_transfer_amount="0",
                margin_cure_period=0, grace_period=0, bonds=[{"token": "0x" + "22" * 20, "haircut_bps": 200}],
                basket_hash="0x" + "33" * 32, created_by="test",
            )
        )  # fmt: skip
        for member, other in (("a", "b"), ("b", "a")):  # told to the book, which has taken them
            instructions.set_credit_limit(session, organization_id=world.orgs[member],
                                          counterparty_id=world.orgs[other], limit_units=1_000_000,
                                          book_units=1_000_000)  # fmt: skip
        session.execute(update(GcInstruction).values(answered_at=utcnow()))
    return world


def _answer(world: World, fills: list[FillIn], *, extra: Callable[[], None] | None = None) -> None:
    """Queue one instruction (after any ``extra`` ones), then check an answer to it carrying ``fills``."""
    if extra is not None:
        extra()
    with world.ctx.sessions.begin() as session:
        sequence = instructions.add(session, action="end_session").sequence
    with world.ctx.sessions() as session:
        outcomes.prepare(session, OutcomeIn(sequence=sequence, fills=fills))


def _fill(lend: uuid.UUID, borrow: uuid.UUID, rate: int, amount: int = 500, sequence: int = 1) -> FillIn:
    return FillIn(sequence=sequence, lend_order_id=lend, borrow_order_id=borrow, rate=str(rate),
                  amount_units=str(amount))  # fmt: skip


def test_a_fill_within_both_orders_passes(book: World) -> None:
    lend, borrow = _order(book, "b", "lend", 3), _order(book, "a", "borrow", 5)
    _answer(book, [_fill(lend, borrow, 4)])


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("below the floor", "outside the orders' bounds"),
        ("above the cap", "outside the orders' bounds"),
        ("below a minimum fill", "minimum fill"),
        ("beyond a size", "beyond its size"),
        ("two lend orders", "not a lend order against a borrow order"),
        ("one member", "cannot trade with itself"),
        ("two instruments", "different instruments"),
        ("an ended order", "is filled"),
        ("no credit", "no credit limit"),
        ("a repeated sequence", "repeated"),
    ],
)
def test_a_fill_outside_the_signed_orders_is_refused(book: World, case: str, reason: str) -> None:
    lend, borrow = _order(book, "b", "lend", 3), _order(book, "a", "borrow", 5)
    fills = {
        "below the floor": [_fill(lend, borrow, 2)],
        "above the cap": [_fill(lend, borrow, 6)],
        "below a minimum fill": [_fill(lend, borrow, 4, amount=99)],
        "beyond a size": [_fill(lend, borrow, 4, amount=600), _fill(lend, borrow, 4, amount=600, sequence=2)],
        "two lend orders": [_fill(lend, _order(book, "a", "lend", 3), 4)],
        "one member": [_fill(lend, _order(book, "b", "borrow", 5), 4)],
        "two instruments": [_fill(lend, _order(book, "a", "borrow", 5, tenor="1M"), 4)],
        "an ended order": [_fill(lend, _order(book, "a", "borrow", 5, status="filled"), 4)],
        "no credit": [_fill(lend, borrow, 4)],
        "a repeated sequence": [_fill(lend, borrow, 4), _fill(lend, borrow, 4)],
    }[case]
    if case == "no credit":  # B told the book 0 toward A before the instruction answered
        _tell_limit(book, "b", "a", 0)
    with pytest.raises(InvalidRequest, match=reason):
        _answer(book, fills)


def _tell_limit(world: World, member: str, other: str, units: int, *, taken: bool = True) -> None:
    with world.ctx.sessions.begin() as session:
        instructions.set_credit_limit(session, organization_id=world.orgs[member], counterparty_id=world.orgs[other],
                                      limit_units=units, book_units=units)  # fmt: skip
        if taken:
            session.execute(update(GcInstruction).values(answered_at=utcnow()))


def test_a_limit_lowered_after_the_answered_instruction_is_the_books_to_apply_later(book: World) -> None:
    """The book matched under the limits it had taken: a limit set to 0 while the answer was on its way does not
    refuse it (a refused answer halts the whole book); it refuses a fill answering a later instruction."""
    lend, borrow = _order(book, "b", "lend", 3), _order(book, "a", "borrow", 5)
    with book.ctx.sessions.begin() as session:
        sequence = instructions.add(session, action="end_session").sequence
    _tell_limit(book, "b", "a", 0, taken=False)
    with book.ctx.sessions() as session:
        outcomes.prepare(session, OutcomeIn(sequence=sequence, fills=[_fill(lend, borrow, 4)]))
    with book.ctx.sessions.begin() as session:
        session.execute(update(GcInstruction).values(answered_at=utcnow()))
    with pytest.raises(InvalidRequest, match="no credit limit"):
        _answer(book, [_fill(lend, borrow, 4)])


def test_a_fill_on_an_order_withdrawn_before_the_answered_instruction_is_refused(book: World) -> None:
    lend, borrow = _order(book, "b", "lend", 3), _order(book, "a", "borrow", 5)

    def cancel_first() -> None:
        with book.ctx.sessions.begin() as session:
            instructions.add(session, action="cancel", order_id=lend)

    with pytest.raises(Conflict, match="in sequence"):  # the cancel is not answered yet
        _answer(book, [_fill(lend, borrow, 4)], extra=cancel_first)
    with book.ctx.sessions.begin() as session:
        for row in session.scalars(select(GcInstruction).where(GcInstruction.answered_at.is_(None))):
            row.answered_at = row.created_at  # the cancel (and the first answer's instruction) taken
    with pytest.raises(InvalidRequest, match="withdrawn"):
        _answer(book, [_fill(lend, borrow, 4)])


def test_a_recorded_fill_sequence_cannot_come_again(book: World) -> None:
    lend, borrow = _order(book, "b", "lend", 3), _order(book, "a", "borrow", 5)
    with book.ctx.sessions.begin() as session:
        session.add(GcFill(sequence=7, lend_order_id=lend, borrow_order_id=borrow, basket_id="GC-A", tenor="1W",
                           forward_start_days=0, rate="4", amount_units="100", aggressor="lend"))  # fmt: skip
    with pytest.raises(InvalidRequest, match="repeated"):
        _answer(book, [_fill(lend, borrow, 4, sequence=7)])
