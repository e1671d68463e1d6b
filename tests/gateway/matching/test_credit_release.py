"""A fill's credit comes back to the pair: when its repo ends (repurchased or closed out) or it fails to settle, the
book is told once (a ``release`` instruction), and the matcher's usage of both members' limits falls by its amount."""

from __future__ import annotations

import uuid
from typing import Any, cast

import pytest
from sqlalchemy import select

from gateway.matching import credit_release, settle
from gateway.matching.book import Book
from gateway.matching.credit import CreditLimits
from gateway.matching.models import GcFill, GcInstruction
from gateway.matching.runner import InstructionWire, ReleaseWire, apply
from gateway.settlement_records.models import Settlement
from gateway.settlement_records.steps import StepSpec, enqueue
from tests.gateway.conftest import World
from tests.gateway.matching.test_outcome_checks import _order, book

__all__ = ["book"]
AMOUNT = "500"


def _fill(world: World, *, repo_id: int | None = None) -> int:
    lend, borrow = _order(world, "b", "lend", 3), _order(world, "a", "borrow", 5)
    with world.ctx.sessions.begin() as session:
        sequence = int(session.scalars(select(GcFill.sequence).order_by(GcFill.sequence.desc())).first() or 0) + 1
        session.add(
            GcFill(sequence=sequence, lend_order_id=lend, borrow_order_id=borrow, basket_id="GC-A", tenor="1W",
                   forward_start_days=0, rate="4", amount_units=AMOUNT, aggressor="lend", status="settled",
                   repo_id=repo_id)
        )  # fmt: skip
    return sequence


def _releases(world: World) -> list[dict[str, Any] | None]:
    with world.ctx.sessions() as session:
        rows = session.scalars(select(GcInstruction).where(GcInstruction.action == "release")).all()
        return [row.payload for row in rows]


def test_an_ended_repo_releases_its_fills_credit_once(book: World) -> None:
    _fill(book, repo_id=7)
    with book.ctx.sessions.begin() as session:
        assert not credit_release.repo_ended(session, 7, "open")  # still at risk
        assert not credit_release.repo_ended(session, 8, "repurchased")  # not a GC repo
        assert credit_release.repo_ended(session, 7, "repurchased")
    with book.ctx.sessions.begin() as session:
        assert not credit_release.repo_ended(session, 7, "repurchased")  # a later event of the same repo
    expected = {"lender": str(book.orgs["b"]), "borrower": str(book.orgs["a"]), "amount_units": AMOUNT}
    assert _releases(book) == [expected]


@pytest.mark.parametrize("status", ["closed_out", "repurchased"])
def test_each_way_a_repo_ends_releases(book: World, status: str) -> None:
    _fill(book, repo_id=9)
    with book.ctx.sessions.begin() as session:
        assert credit_release.repo_ended(session, 9, status)
    assert len(_releases(book)) == 1


def test_a_fill_that_cannot_settle_releases_its_credit(book: World) -> None:
    sequence = _fill(book)
    with book.ctx.sessions.begin() as session:
        fill = session.get(GcFill, sequence)
        assert fill is not None
        failed = settle.FillPlan(failure=settle.UNSETTLEABLE, detail="no bond covers the cash")
        settle.enqueue_fill(session, cast(Any, None), fill, cast(Any, None), failed)  # a failure reads no chain
        assert fill.status == "failed" and fill.credit_released_at is not None
    assert len(_releases(book)) == 1


def test_the_book_gives_the_released_amount_back_to_both_limits() -> None:
    credit = CreditLimits()
    for member, other in (("A", "B"), ("B", "A")):
        credit.set_limit(member=member, counterparty=other, limit_units=1_000)
    credit.use(lender="B", borrower="A", amount_units=800)
    assert credit.headroom(lender="B", borrower="A") == 200
    release = InstructionWire(sequence=5, action="release", order=None, order_id=None, credit=None,
                              release=ReleaseWire(lender="B", borrower="A", amount_units="500"))  # fmt: skip
    answer = apply(Book(instruments=[], credit=credit), release)
    assert answer["refused"] is None and answer["fills"] == []
    assert credit.headroom(lender="B", borrower="A") == 700
    assert credit.exposure(member="A", counterparty="B").used_units == 300


def test_an_order_id_is_not_a_release() -> None:
    wire = InstructionWire(sequence=6, action="release", order=None, order_id=str(uuid.uuid4()), credit=None)
    assert apply(Book(instruments=[], credit=CreditLimits()), wire)["refused"] == "malformed instruction release"


def test_a_fill_that_reverted_on_chain_releases_its_credit_once(book: World) -> None:
    sequence = _fill(book)
    with book.ctx.sessions.begin() as session:
        spec = StepSpec(label="settleGcFill", to="0x" + "e1" * 20, data="0x", sender="0x" + "ab" * 20)
        settlement = enqueue(session, kind=settle.KIND, requested_by="test", steps=[spec])
        fill = session.get(GcFill, sequence)
        assert fill is not None
        fill.status, fill.settlement_id = "settling", settlement.id
    for _ in range(2):  # a repeated hook changes nothing more
        with book.ctx.sessions.begin() as session:
            settlement_row = session.get(Settlement, settlement.id)
            assert settlement_row is not None
            settle.on_failed(session, settlement_row, [], cast(Any, None))
    with book.ctx.sessions() as session:
        fill = session.get(GcFill, sequence)
        assert fill is not None and fill.status == "failed" and fill.credit_released_at is not None
    assert len(_releases(book)) == 1
