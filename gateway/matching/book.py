"""The matching engine: a pure, single-threaded state machine over every instrument's book (no I/O, no clock).

Rules, in the order a submitted order meets them:
1. Validation: a known instrument, a fresh id, ``1 <= min_fill_units <= size_units``.
2. Price-time priority: the opposite side best rate first (lowest LEND rate, highest BORROW rate), oldest first
   within a rate; the fill trades at the resting order's rate while the incoming order accepts that rate.
3. Self-trade prevention, cancel newest: reaching the member's own resting order stops matching and cancels the
   incoming remainder (fills already made stand); the book never crosses a member with itself.
4. Credit: a fill is at most the pair's credit headroom (``gateway.matching.credit``); an order with no room
   toward the best resting order passes it over, so the book may look crossed between pairs without credit.
5. Minimum fill: every fill is at least both orders' ``min_fill_units``; a resting order too small or too large
   for that is passed over, not cancelled. An order whose remainder falls below its own minimum leaves the book.
6. FOK plans the whole match first and trades nothing unless it fills in full; IOC cancels its remainder; LIMIT
   rests until filled, cancelled, amended or ``end_session``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.matching.credit import CreditLimits
from gateway.matching.exceptions import DuplicateOrder, InvalidOrder, OrderNotFound
from gateway.matching.instruments import Instrument
from gateway.matching.levels import BookSide, DepthLevel, Resting
from gateway.matching.orders import (
    Cancellation,
    CancelReason,
    Fill,
    Order,
    OrderStatus,
    Outcome,
    Side,
    TimeInForce,
)


@dataclass(frozen=True, slots=True)
class _Planned:
    resting: Resting
    amount_units: int


@dataclass(frozen=True, slots=True)
class _Plan:
    fills: list[_Planned]
    self_trade: bool


@dataclass(frozen=True, slots=True)
class Depth:
    instrument: Instrument
    lend: list[DepthLevel]
    borrow: list[DepthLevel]


class _InstrumentBook:
    def __init__(self) -> None:
        self.sides = {Side.LEND: BookSide(Side.LEND), Side.BORROW: BookSide(Side.BORROW)}


class Book:
    """Every instrument's book, the credit limits they share, and the fill sequence."""

    def __init__(self, *, instruments: Iterable[Instrument], credit: CreditLimits, last_fill_sequence: int = 0) -> None:
        self._books = {instrument: _InstrumentBook() for instrument in instruments}
        self.credit = credit
        self._live: dict[str, Resting] = {}
        self._seen: set[str] = set()
        self._priority = 0
        self._sequence = last_fill_sequence  # fills number on from here (a book reloaded after a restart)

    # -- orders --------------------------------------------------------------------------------------------

    def submit(self, order: Order) -> Outcome:
        """Match ``order`` against the book and, for a LIMIT order, rest what is left."""
        self._validate(order)
        self._seen.add(order.order_id)
        return self._enter(order, filled_units=0)

    def list_instrument(self, instrument: Instrument) -> None:
        """Open a book for ``instrument`` (no-op if open): the gateway lists baskets while the service runs."""
        self._books.setdefault(instrument, _InstrumentBook())

    def restore(self, order: Order, *, filled_units: int, priority: int) -> None:
        """Put back an order that was resting (from the database, in priority order) without matching it."""
        self._validate(order)
        self._seen.add(order.order_id)
        self._priority = max(self._priority, priority)
        resting = Resting(order=order, filled_units=filled_units, priority=priority)
        self._books[order.instrument].sides[order.side].add(resting)
        self._live[order.order_id] = resting

    def cancel(self, order_id: str) -> Cancellation:
        resting = self._take(order_id)
        return Cancellation(order_id, resting.remaining_units, CancelReason.MEMBER)

    def amend(self, order_id: str, *, rate_e18: int | None = None, size_units: int | None = None) -> Outcome:
        """Replace a resting order's rate and/or total size (a newly signed order under the same id).

        Reducing the size at the same rate keeps time priority; any other change loses it and the order matches
        again as if new. The new size must exceed what is already filled."""
        resting = self._live.get(order_id)
        if resting is None:
            raise OrderNotFound(order_id)
        old = resting.order
        new = dataclasses.replace(
            old,
            rate_e18=old.rate_e18 if rate_e18 is None else rate_e18,
            size_units=old.size_units if size_units is None else size_units,
        )
        if new.size_units - resting.filled_units < new.min_fill_units:
            raise InvalidOrder("the amended size leaves less than the minimum fill unfilled")
        if new.rate_e18 == old.rate_e18 and new.size_units <= old.size_units:
            resting.order = new
            return self._outcome(resting, [], [])
        self._take(order_id)
        return self._enter(new, filled_units=resting.filled_units)

    def end_session(self) -> list[Cancellation]:
        """The trading session closed: every resting order expires."""
        expired = [
            Cancellation(order_id, resting.remaining_units, CancelReason.SESSION_END)
            for order_id, resting in self._live.items()
        ]
        for cancellation in expired:
            self._take(cancellation.order_id)
        return expired

    # -- market data ---------------------------------------------------------------------------------------

    def depth(self, instrument: Instrument, *, levels: int = 10) -> Depth:
        book = self._book(instrument)
        return Depth(
            instrument=instrument,
            lend=book.sides[Side.LEND].depth(levels),
            borrow=book.sides[Side.BORROW].depth(levels),
        )

    def resting(self, order_id: str) -> Resting | None:
        return self._live.get(order_id)

    def live_orders(self) -> int:
        return len(self._live)

    # -- inside --------------------------------------------------------------------------------------------

    def _validate(self, order: Order) -> None:
        self._book(order.instrument)
        if order.order_id in self._seen:
            raise DuplicateOrder(order.order_id)
        if not order.member:
            raise InvalidOrder("an order needs a member")
        if order.size_units <= 0:
            raise InvalidOrder("size must be positive")
        if not 1 <= order.min_fill_units <= order.size_units:
            raise InvalidOrder("minimum fill must be between 1 and the size")

    def _book(self, instrument: Instrument) -> _InstrumentBook:
        book = self._books.get(instrument)
        if book is None:
            raise InvalidOrder(f"unknown instrument {instrument.symbol}")
        return book

    def _take(self, order_id: str) -> Resting:
        resting = self._live.pop(order_id, None)
        if resting is None:
            raise OrderNotFound(order_id)
        self._books[resting.order.instrument].sides[resting.order.side].remove(resting.order)
        return resting

    def _enter(self, order: Order, *, filled_units: int) -> Outcome:
        self._priority += 1
        incoming = Resting(order=order, filled_units=filled_units, priority=self._priority)
        plan = self._plan(incoming)
        cancellations: list[Cancellation] = []
        planned = sum(step.amount_units for step in plan.fills)
        if order.tif is TimeInForce.FOK and planned < incoming.remaining_units:
            cancellation = Cancellation(order.order_id, incoming.remaining_units, CancelReason.FOK_NOT_FILLABLE)
            return self._outcome(incoming, [], [cancellation], status=OrderStatus.REJECTED)
        fills = [self._apply(incoming, step, cancellations) for step in plan.fills]
        remaining = incoming.remaining_units
        status = OrderStatus.FILLED
        if remaining:
            reason = self._why_not_rest(incoming, self_trade=plan.self_trade)
            if reason is None:
                self._books[order.instrument].sides[order.side].add(incoming)
                self._live[order.order_id] = incoming
                status = OrderStatus.RESTING
            else:
                cancellations.insert(0, Cancellation(order.order_id, remaining, reason))
                status = OrderStatus.CANCELLED
        return self._outcome(incoming, fills, cancellations, status=status)

    @staticmethod
    def _why_not_rest(incoming: Resting, *, self_trade: bool) -> CancelReason | None:
        if self_trade:
            return CancelReason.SELF_TRADE
        if incoming.remaining_units < incoming.order.min_fill_units:
            return CancelReason.BELOW_MIN_FILL
        if incoming.order.tif is not TimeInForce.LIMIT:
            return CancelReason.UNFILLED_IOC
        return None

    def _plan(self, incoming: Resting) -> _Plan:
        """The fills ``incoming`` would make now, without changing the book (FOK needs the whole plan first)."""
        order = incoming.order
        remaining = incoming.remaining_units
        used: dict[str, int] = {}  # credit this plan already takes, by counterparty
        steps: list[_Planned] = []
        opposite = self._books[order.instrument].sides[order.side.opposite]
        for rate, level in opposite.best_first():
            if not order.accepts_rate(rate):
                break
            for resting in level.values():
                if resting.order.member == order.member:
                    return _Plan(steps, self_trade=True)
                other = resting.order.member
                lender, borrower = (order.member, other) if order.side is Side.LEND else (other, order.member)
                room = self.credit.headroom(lender=lender, borrower=borrower) - used.get(other, 0)
                amount = min(remaining, resting.remaining_units, room)
                if amount < order.min_fill_units or amount < resting.order.min_fill_units:
                    continue
                steps.append(_Planned(resting, amount))
                used[other] = used.get(other, 0) + amount
                remaining -= amount
                if remaining < order.min_fill_units:
                    return _Plan(steps, self_trade=False)
        return _Plan(steps, self_trade=False)

    def _apply(self, incoming: Resting, step: _Planned, cancellations: list[Cancellation]) -> Fill:
        resting, amount = step.resting, step.amount_units
        lend, borrow = (incoming, resting) if incoming.order.side is Side.LEND else (resting, incoming)
        self.credit.use(lender=lend.order.member, borrower=borrow.order.member, amount_units=amount)
        incoming.filled_units += amount
        resting.filled_units += amount
        self._sequence += 1
        fill = Fill(
            sequence=self._sequence,
            instrument=incoming.order.instrument,
            lend_order_id=lend.order.order_id,
            borrow_order_id=borrow.order.order_id,
            lender=lend.order.member,
            borrower=borrow.order.member,
            rate_e18=resting.order.rate_e18,
            amount_units=amount,
            aggressor=incoming.order.side,
        )
        left = resting.remaining_units
        if left == 0:
            self._take(resting.order.order_id)
        elif left < resting.order.min_fill_units:
            self._take(resting.order.order_id)
            cancellations.append(Cancellation(resting.order.order_id, left, CancelReason.BELOW_MIN_FILL))
        return fill

    @staticmethod
    def _outcome(
        resting: Resting,
        fills: list[Fill],
        cancellations: list[Cancellation],
        *,
        status: OrderStatus = OrderStatus.RESTING,
    ) -> Outcome:
        return Outcome(
            order_id=resting.order.order_id,
            status=status,
            filled_units=resting.filled_units,
            remaining_units=resting.remaining_units if status is OrderStatus.RESTING else 0,
            fills=tuple(fills),
            cancellations=tuple(cancellations),
        )
