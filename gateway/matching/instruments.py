"""What a GC order trades: a basket of eligible bonds (with haircuts, in one currency) for one tenor.

Dates are calendar dates from the trade date; a business-day calendar is the caller's (the gateway's) concern."""

from __future__ import annotations

import calendar
import datetime as dt
import enum
from dataclasses import dataclass

from gateway.matching.exceptions import InvalidOrder

MAX_FORWARD_START_DAYS = 365  # a forward start opens within a year of its trade date


class Tenor(enum.Enum):
    """Standard repo tenors. ``start_offset_days`` is days from the trade date to the opening leg."""

    OVERNIGHT = "ON"
    TOM_NEXT = "TN"
    ONE_WEEK = "1W"
    TWO_WEEKS = "2W"
    ONE_MONTH = "1M"
    THREE_MONTHS = "3M"

    @property
    def start_offset_days(self) -> int:
        return 1 if self is Tenor.TOM_NEXT else 0

    def maturity(self, start: dt.date) -> dt.date:
        """The closing leg's date for an opening leg on ``start``."""
        if self in (Tenor.OVERNIGHT, Tenor.TOM_NEXT):
            return start + dt.timedelta(days=1)
        if self is Tenor.ONE_WEEK:
            return start + dt.timedelta(days=7)
        if self is Tenor.TWO_WEEKS:
            return start + dt.timedelta(days=14)
        return _add_months(start, 1 if self is Tenor.ONE_MONTH else 3)


def _add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, clamped to the month's end (31 Jan + 1M = 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class EligibleBond:
    """A bond the basket accepts, by its token address (or ISIN), with the haircut applied to it."""

    security: str
    haircut_bps: int


@dataclass(frozen=True, slots=True)
class Basket:
    """A GC basket: any of ``eligible`` may be delivered; all cash is in ``currency``."""

    basket_id: str
    currency: str
    eligible: tuple[EligibleBond, ...]

    def __post_init__(self) -> None:
        if not self.eligible:
            raise InvalidOrder(f"basket {self.basket_id} has no eligible bonds")
        for bond in self.eligible:
            if not 0 <= bond.haircut_bps < 10_000:
                raise InvalidOrder(f"haircut {bond.haircut_bps} bps out of range for {bond.security}")


@dataclass(frozen=True, slots=True)
class Instrument:
    """One order book: a basket × a tenor, optionally starting ``forward_start_days`` after its usual start."""

    basket_id: str
    tenor: Tenor
    forward_start_days: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.forward_start_days <= MAX_FORWARD_START_DAYS:
            raise InvalidOrder(f"a forward start is 0 to {MAX_FORWARD_START_DAYS} days")

    @property
    def symbol(self) -> str:
        """``GC-EUR-A/1W`` or ``GC-EUR-A/1W+7`` for a forward start."""
        suffix = f"+{self.forward_start_days}" if self.forward_start_days else ""
        return f"{self.basket_id}/{self.tenor.value}{suffix}"

    def legs(self, trade_date: dt.date) -> Legs:
        """The legs' dates for a trade matched on ``trade_date``."""
        start = trade_date + dt.timedelta(days=self.tenor.start_offset_days + self.forward_start_days)
        return Legs(opening=start, closing=self.tenor.maturity(start))


@dataclass(frozen=True, slots=True)
class Legs:
    """The opening (purchase) and closing (repurchase) dates of a matched trade."""

    opening: dt.date
    closing: dt.date
