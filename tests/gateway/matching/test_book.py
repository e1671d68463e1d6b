"""Each matching rule with the exact fills it must produce (and the near miss it must not)."""

from __future__ import annotations

import pytest

from gateway.matching.book import Book
from gateway.matching.credit import CreditLimits
from gateway.matching.exceptions import DuplicateOrder, InvalidOrder, OrderNotFound
from gateway.matching.orders import CancelReason, OrderStatus, Side, TimeInForce
from tests.gateway.matching.factories import BP, ON, ONE_WEEK, borrow, fills, lend, make_book


def test_no_cross_rests_both_sides() -> None:
    book = make_book()
    assert book.submit(lend("l1", "A", 350, 100)).status is OrderStatus.RESTING
    assert book.submit(borrow("b1", "B", 340, 100)).status is OrderStatus.RESTING  # borrower caps below lender's floor
    depth = book.depth(ON)
    assert [(d.rate_e18 // BP, d.total_units, d.orders) for d in depth.lend] == [(350, 100, 1)]
    assert [(d.rate_e18 // BP, d.total_units, d.orders) for d in depth.borrow] == [(340, 100, 1)]


def test_price_priority_best_rate_first_at_the_resting_rate() -> None:
    book = make_book()
    book.submit(lend("l-high", "A", 360, 100))
    book.submit(lend("l-low", "B", 340, 100))  # lowest lend rate is best for a borrower
    book.submit(lend("l-mid", "C", 350, 100))
    out = book.submit(borrow("b1", "D", 355, 250))
    assert fills(out) == [("l-low", "b1", 340, 100), ("l-mid", "b1", 350, 100)]
    assert out.status is OrderStatus.RESTING and out.remaining_units == 50  # 360 is above its cap: rests at 355
    assert [d.rate_e18 // BP for d in book.depth(ON).borrow] == [355]


def test_borrow_side_highest_rate_first() -> None:
    book = make_book()
    book.submit(borrow("b-low", "A", 300, 100))
    book.submit(borrow("b-high", "B", 320, 100))
    out = book.submit(lend("l1", "C", 290, 150, tif=TimeInForce.IOC))
    assert fills(out) == [("l1", "b-high", 320, 100), ("l1", "b-low", 300, 50)]
    assert out.fills[0].aggressor is Side.LEND and (out.fills[0].lender, out.fills[0].borrower) == ("C", "B")


def test_time_priority_within_a_rate() -> None:
    book = make_book()
    book.submit(lend("first", "A", 350, 100))
    book.submit(lend("second", "B", 350, 100))
    out = book.submit(borrow("b1", "C", 350, 150))
    assert fills(out) == [("first", "b1", 350, 100), ("second", "b1", 350, 50)]
    assert book.resting("second") is not None and book.resting("second").remaining_units == 50  # type: ignore[union-attr]


def test_partial_fill_respects_both_minimum_fills() -> None:
    book = make_book()
    book.submit(lend("big-min", "A", 340, 1000, min_fill=500))  # best rate, but wants at least 500 per fill
    book.submit(lend("small", "B", 345, 1000))
    out = book.submit(borrow("b1", "C", 350, 300))
    assert fills(out) == [("small", "b1", 345, 300)]  # passed over, not cancelled
    assert book.resting("big-min") is not None
    out = book.submit(borrow("b2", "D", 350, 600, min_fill=600))
    assert fills(out) == [("big-min", "b2", 340, 600)]


def test_remainder_below_min_fill_leaves_the_book() -> None:
    book = make_book()
    book.submit(lend("l1", "A", 340, 1000, min_fill=400))
    out = book.submit(borrow("b1", "B", 340, 700))
    assert fills(out) == [("l1", "b1", 340, 700)]
    assert [(c.order_id, c.remaining_units, c.reason) for c in out.cancellations] == [
        ("l1", 300, CancelReason.BELOW_MIN_FILL)
    ]
    assert book.resting("l1") is None


def test_ioc_cancels_its_remainder() -> None:
    book = make_book()
    book.submit(lend("l1", "A", 340, 100))
    out = book.submit(borrow("b1", "B", 350, 250, tif=TimeInForce.IOC))
    assert fills(out) == [("l1", "b1", 340, 100)]
    assert out.status is OrderStatus.CANCELLED
    assert [(c.order_id, c.remaining_units, c.reason) for c in out.cancellations] == [
        ("b1", 150, CancelReason.UNFILLED_IOC)
    ]
    assert book.depth(ON).borrow == []


def test_fok_all_or_nothing() -> None:
    book = make_book()
    book.submit(lend("l1", "A", 340, 100))
    book.submit(lend("l2", "B", 345, 100))
    out = book.submit(borrow("b1", "C", 350, 250, tif=TimeInForce.FOK))
    assert out.status is OrderStatus.REJECTED and out.fills == ()
    assert out.cancellations[0].reason is CancelReason.FOK_NOT_FILLABLE
    assert [d.total_units for d in book.depth(ON).lend] == [100, 100]  # untouched
    out = book.submit(borrow("b2", "C", 350, 200, tif=TimeInForce.FOK))
    assert out.status is OrderStatus.FILLED
    assert fills(out) == [("l1", "b2", 340, 100), ("l2", "b2", 345, 100)]


def test_self_trade_cancels_the_incoming_remainder() -> None:
    book = make_book()
    book.submit(lend("other", "B", 340, 100))
    book.submit(lend("own", "A", 345, 100))
    book.submit(lend("behind", "C", 345, 100))
    out = book.submit(borrow("b1", "A", 350, 300))
    assert fills(out) == [("other", "b1", 340, 100)]  # stops at its own order; never trades past it
    assert out.status is OrderStatus.CANCELLED
    assert [(c.order_id, c.remaining_units, c.reason) for c in out.cancellations] == [
        ("b1", 200, CancelReason.SELF_TRADE)
    ]
    assert book.resting("own") is not None and book.resting("behind") is not None


def test_credit_limit_caps_and_skips() -> None:
    credit = CreditLimits()
    for member, other, limit in (("A", "C", 60), ("C", "A", 1000), ("B", "C", 1000), ("C", "B", 1000)):
        credit.set_limit(member=member, counterparty=other, limit_units=limit)
    book = Book(instruments=[ON], credit=credit)
    book.submit(lend("la", "A", 340, 100))  # A will lend C at most 60
    book.submit(lend("lb", "B", 345, 100))
    book.submit(lend("ld", "D", 330, 100))  # no limits with D at all: passed over
    out = book.submit(borrow("b1", "C", 350, 200))
    assert fills(out) == [("la", "b1", 340, 60), ("lb", "b1", 345, 100)]
    assert credit.exposure(member="A", counterparty="C").used_units == 60
    assert credit.exposure(member="C", counterparty="A").used_units == 60
    assert credit.headroom(lender="A", borrower="C") == 0
    out = book.submit(borrow("b2", "C", 350, 40))
    assert fills(out) == []  # A's 40 left cannot go to C: no room
    credit.release(lender="A", borrower="C", amount_units=60)
    assert fills(book.submit(borrow("b3", "C", 340, 40, tif=TimeInForce.IOC))) == [("la", "b3", 340, 40)]


def test_credit_limit_is_both_ways() -> None:
    credit = CreditLimits()
    credit.set_limit(member="A", counterparty="B", limit_units=1000)  # B has none toward A
    book = Book(instruments=[ON], credit=credit)
    book.submit(lend("l1", "A", 340, 100))
    assert fills(book.submit(borrow("b1", "B", 350, 100))) == []


def test_amend_down_keeps_priority_and_up_loses_it() -> None:
    book = make_book()
    book.submit(lend("l1", "A", 350, 100))
    book.submit(lend("l2", "B", 350, 100))
    book.amend("l1", size_units=80)
    assert fills(book.submit(borrow("b1", "C", 350, 50, tif=TimeInForce.IOC))) == [("l1", "b1", 350, 50)]
    book.amend("l1", size_units=200)  # grows: now behind l2
    assert fills(book.submit(borrow("b2", "C", 350, 120, tif=TimeInForce.IOC))) == [
        ("l2", "b2", 350, 100),
        ("l1", "b2", 350, 20),
    ]
    assert book.resting("l1").remaining_units == 130  # type: ignore[union-attr]


def test_amend_rate_matches_again() -> None:
    book = make_book()
    book.submit(borrow("b1", "A", 330, 100))
    book.submit(lend("l1", "B", 340, 100))
    out = book.amend("l1", rate_e18=330 * BP)
    assert fills(out) == [("l1", "b1", 330, 100)] and out.status is OrderStatus.FILLED


def test_amend_below_filled_refused() -> None:
    book = make_book()
    book.submit(lend("l1", "A", 340, 100))
    book.submit(borrow("b1", "B", 340, 60, tif=TimeInForce.IOC))
    with pytest.raises(InvalidOrder):
        book.amend("l1", size_units=60)


def test_cancel_and_session_end() -> None:
    book = make_book()
    book.submit(lend("l1", "A", 340, 100))
    book.submit(lend("l2", "A", 340, 100, instrument=ONE_WEEK))
    book.submit(borrow("b1", "B", 330, 100))
    cancelled = book.cancel("l1")
    assert (cancelled.remaining_units, cancelled.reason) == (100, CancelReason.MEMBER)
    with pytest.raises(OrderNotFound):
        book.cancel("l1")
    expired = book.end_session()
    assert sorted((c.order_id, c.reason) for c in expired) == [
        ("b1", CancelReason.SESSION_END),
        ("l2", CancelReason.SESSION_END),
    ]
    assert book.live_orders() == 0 and book.depth(ON).borrow == [] and book.depth(ONE_WEEK).lend == []


def test_instruments_do_not_match_across_tenors() -> None:
    book = make_book()
    book.submit(lend("l1", "A", 340, 100, instrument=ONE_WEEK))
    assert fills(book.submit(borrow("b1", "B", 400, 100))) == []


def test_validation() -> None:
    book = make_book()
    book.submit(lend("l1", "A", 340, 100))
    with pytest.raises(DuplicateOrder):
        book.submit(lend("l1", "A", 340, 100))
    with pytest.raises(InvalidOrder):
        book.submit(lend("l2", "A", 340, 0))
    with pytest.raises(InvalidOrder):
        book.submit(lend("l3", "A", 340, 100, min_fill=101))
    with pytest.raises(InvalidOrder):
        book.submit(lend("l4", "", 340, 100))


def test_negative_rates_match() -> None:
    book = make_book()
    book.submit(lend("l1", "A", -50, 100))
    assert fills(book.submit(borrow("b1", "B", -40, 100))) == [("l1", "b1", -50, 100)]
