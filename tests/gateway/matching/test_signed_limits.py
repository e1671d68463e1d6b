"""Property: whatever members send, no fill leaves either order's signed limits or the pair's credit limits.

Every fill stays within what both members signed (the order version in force when it filled): at least both
minimum fills, a rate within both bounds, the sum of an order's fills at most its size, never a member with itself;
the credit used by a pair never exceeds either member's limit; an FOK fills in full or not at all; and no member's
own orders ever rest crossed. Hypothesis runs derandomized (a fixed seed)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.matching.book import Book
from gateway.matching.credit import CreditLimits
from gateway.matching.exceptions import InvalidOrder, OrderNotFound
from gateway.matching.orders import Order, OrderStatus, Outcome, Side, TimeInForce
from tests.gateway.matching.factories import BP, ON, ONE_WEEK

MEMBERS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Submit:
    member: str
    side: Side
    rate_bp: int
    size: int
    min_fill: int
    tif: TimeInForce
    week: bool


@dataclass(frozen=True)
class Cancel:
    pick: int


@dataclass(frozen=True)
class Amend:
    pick: int
    rate_bp: int | None
    size: int | None


@st.composite
def submits(draw: st.DrawFn) -> Submit:
    size = draw(st.integers(1, 60))
    return Submit(
        member=draw(st.sampled_from(MEMBERS)),
        side=draw(st.sampled_from(Side)),
        rate_bp=draw(st.integers(295, 305)),
        size=size,
        min_fill=draw(st.integers(1, size)),
        tif=draw(st.sampled_from([TimeInForce.LIMIT, TimeInForce.LIMIT, TimeInForce.IOC, TimeInForce.FOK])),
        week=draw(st.booleans()),
    )


OPS = st.lists(
    st.one_of(
        submits(),
        submits(),
        st.builds(Cancel, st.integers(0, 200)),
        st.builds(Amend, st.integers(0, 200), st.none() | st.integers(295, 305), st.none() | st.integers(1, 80)),
    ),
    min_size=10,
    max_size=80,
)
LIMITS = st.dictionaries(
    st.tuples(st.sampled_from(MEMBERS), st.sampled_from(MEMBERS)).filter(lambda pair: pair[0] != pair[1]),
    st.integers(0, 150),
)


class Checker:
    def __init__(self, limits: dict[tuple[str, str], int]) -> None:
        self.limits = limits
        self.signed: dict[str, Order] = {}
        self.filled: dict[str, int] = {}
        self.pair_used: dict[tuple[str, str], int] = {}

    def check(self, outcome: Outcome, order: Order) -> None:
        if order.tif is TimeInForce.FOK:
            assert outcome.status in (OrderStatus.FILLED, OrderStatus.REJECTED)
            assert sum(f.amount_units for f in outcome.fills) == (order.size_units if outcome.fills else 0)
        for fill in outcome.fills:
            lend, borrow = self.signed[fill.lend_order_id], self.signed[fill.borrow_order_id]
            assert lend.side is Side.LEND and borrow.side is Side.BORROW
            assert fill.lender == lend.member != borrow.member == fill.borrower
            assert lend.instrument == borrow.instrument == fill.instrument
            assert lend.accepts_rate(fill.rate_e18) and borrow.accepts_rate(fill.rate_e18)
            assert fill.amount_units >= max(lend.min_fill_units, borrow.min_fill_units)
            for signed in (lend, borrow):
                self.filled[signed.order_id] = self.filled.get(signed.order_id, 0) + fill.amount_units
                assert self.filled[signed.order_id] <= signed.size_units
            for pair in ((fill.lender, fill.borrower), (fill.borrower, fill.lender)):
                self.pair_used[pair] = self.pair_used.get(pair, 0) + fill.amount_units
                assert self.pair_used[pair] <= self.limits.get(pair, 0)

    def check_book(self, book: Book, live: list[str]) -> None:
        for instrument in (ON, ONE_WEEK):
            for member in MEMBERS:
                own = [book.resting(i) for i in live]
                lends = [
                    r.order.rate_e18
                    for r in own
                    if r and r.order.member == member and r.order.instrument == instrument and r.order.side is Side.LEND
                ]
                borrows = [
                    r.order.rate_e18
                    for r in own
                    if r
                    and r.order.member == member
                    and r.order.instrument == instrument
                    and r.order.side is Side.BORROW
                ]
                if lends and borrows:
                    assert min(lends) > max(borrows)  # a member's own orders never rest crossed


@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, limits=LIMITS)
def test_no_fill_exceeds_a_signed_limit(ops: list[Submit | Cancel | Amend], limits: dict[tuple[str, str], int]) -> None:
    credit = CreditLimits()
    for (member, other), limit in limits.items():
        credit.set_limit(member=member, counterparty=other, limit_units=limit)
    book = Book(instruments=[ON, ONE_WEEK], credit=credit)
    checker = Checker(limits)
    ids: list[str] = []
    for n, op in enumerate(ops):
        if isinstance(op, Submit):
            order = Order(
                f"o{n}", op.member, ONE_WEEK if op.week else ON, op.side, op.rate_bp * BP, op.size, op.min_fill, op.tif
            )
            checker.signed[order.order_id] = order
            ids.append(order.order_id)
            checker.check(book.submit(order), order)
        elif ids and isinstance(op, Cancel):
            try:
                book.cancel(ids[op.pick % len(ids)])
            except OrderNotFound:
                pass
        elif ids and isinstance(op, Amend):
            order_id = ids[op.pick % len(ids)]
            resting = book.resting(order_id)
            try:
                outcome = book.amend(
                    order_id, rate_e18=None if op.rate_bp is None else op.rate_bp * BP, size_units=op.size
                )
            except (OrderNotFound, InvalidOrder):
                continue
            assert resting is not None
            amended = replace(
                checker.signed[order_id],
                rate_e18=resting.order.rate_e18 if op.rate_bp is None else op.rate_bp * BP,
                size_units=resting.order.size_units if op.size is None else op.size,
            )
            checker.signed[order_id] = amended
            checker.check(outcome, amended)
        checker.check_book(book, ids)
    book.end_session()
    assert book.live_orders() == 0
