"""Small builders for matching tests: one basket, a few instruments, members with mutual credit."""

from __future__ import annotations

from gateway.matching.book import Book
from gateway.matching.credit import CreditLimits
from gateway.matching.instruments import Basket, EligibleBond, Instrument, Tenor
from gateway.matching.orders import Order, Outcome, Side, TimeInForce

BASKET = Basket("GC-EUR-A", "EUR", (EligibleBond("DE0001102580", 200), EligibleBond("FR0013508470", 300)))
ON = Instrument(BASKET.basket_id, Tenor.OVERNIGHT)
ONE_WEEK = Instrument(BASKET.basket_id, Tenor.ONE_WEEK)
BP = 10**14  # one basis point in 18-decimal rate units


def make_book(members: tuple[str, ...] = ("A", "B", "C", "D"), limit: int = 10**12) -> Book:
    credit = CreditLimits()
    for member in members:
        for other in members:
            if member != other:
                credit.set_limit(member=member, counterparty=other, limit_units=limit)
    return Book(instruments=[ON, ONE_WEEK], credit=credit)


def lend(
    order_id: str,
    member: str,
    rate_bp: int,
    size: int,
    *,
    min_fill: int = 1,
    tif: TimeInForce = TimeInForce.LIMIT,
    instrument: Instrument = ON,
) -> Order:
    return Order(order_id, member, instrument, Side.LEND, rate_bp * BP, size, min_fill, tif)


def borrow(
    order_id: str,
    member: str,
    rate_bp: int,
    size: int,
    *,
    min_fill: int = 1,
    tif: TimeInForce = TimeInForce.LIMIT,
    instrument: Instrument = ON,
) -> Order:
    return Order(order_id, member, instrument, Side.BORROW, rate_bp * BP, size, min_fill, tif)


def fills(outcome: Outcome) -> list[tuple[str, str, int, int]]:
    """(lend order, borrow order, rate in bp, amount) of each fill, for exact comparisons."""
    return [(f.lend_order_id, f.borrow_order_id, f.rate_e18 // BP, f.amount_units) for f in outcome.fills]
