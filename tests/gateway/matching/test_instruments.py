"""Tenor dates from the trade date: ON and TN one day, weeks by days, months by calendar (clamped to month end),
and a forward start moving the opening leg."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.matching.exceptions import InvalidOrder
from gateway.matching.instruments import Basket, EligibleBond, Instrument, Legs, Tenor


@pytest.mark.parametrize(
    ("tenor", "forward", "opening", "closing"),
    [
        (Tenor.OVERNIGHT, 0, dt.date(2027, 1, 29), dt.date(2027, 1, 30)),
        (Tenor.TOM_NEXT, 0, dt.date(2027, 1, 30), dt.date(2027, 1, 31)),
        (Tenor.ONE_WEEK, 0, dt.date(2027, 1, 29), dt.date(2027, 2, 5)),
        (Tenor.TWO_WEEKS, 0, dt.date(2027, 1, 29), dt.date(2027, 2, 12)),
        (Tenor.ONE_MONTH, 0, dt.date(2027, 1, 29), dt.date(2027, 2, 28)),  # clamped: no 29 February in 2027
        (Tenor.THREE_MONTHS, 0, dt.date(2027, 1, 29), dt.date(2027, 4, 29)),
        (Tenor.ONE_MONTH, 3, dt.date(2027, 2, 1), dt.date(2027, 3, 1)),
        (Tenor.THREE_MONTHS, 0, dt.date(2027, 11, 30), dt.date(2028, 2, 29)),  # across a year, leap February
    ],
)
def test_legs(tenor: Tenor, forward: int, opening: dt.date, closing: dt.date) -> None:
    trade_date = opening - dt.timedelta(days=tenor.start_offset_days + forward)
    assert Instrument("GC-EUR-A", tenor, forward).legs(trade_date) == Legs(opening, closing)


def test_symbols_and_refusals() -> None:
    assert Instrument("GC-EUR-A", Tenor.ONE_WEEK).symbol == "GC-EUR-A/1W"
    assert Instrument("GC-EUR-A", Tenor.ONE_WEEK, 7).symbol == "GC-EUR-A/1W+7"
    with pytest.raises(InvalidOrder):
        Instrument("GC-EUR-A", Tenor.ONE_WEEK, -1)
    with pytest.raises(InvalidOrder):
        Basket("GC-EUR-A", "EUR", ())
    with pytest.raises(InvalidOrder):
        Basket("GC-EUR-A", "EUR", (EligibleBond("DE0001102580", 10_000),))
