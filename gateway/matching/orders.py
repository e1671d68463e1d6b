"""Orders, fills and what the book answers: the typed vocabulary of ``gateway.matching.book``.

Sides are named for cash. A LEND order offers cash (and takes collateral) at a rate of at least ``rate_e18``: a
lender wants a high rate. A BORROW order bids for cash (and gives collateral) at a rate of at most ``rate_e18``: a
borrower wants a low rate. The book crosses when the best borrow rate >= the best lend rate, and trades at the
resting order's rate. Rates are annual, 18 decimals, signed (negative repo rates exist), like the on-chain terms;
amounts are integers in the cash token's smallest unit."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.matching.instruments import Instrument


class Side(enum.Enum):
    LEND = "lend"
    BORROW = "borrow"

    @property
    def opposite(self) -> Side:
        return Side.BORROW if self is Side.LEND else Side.LEND


class TimeInForce(enum.Enum):
    """LIMIT rests until filled, cancelled or the session ends; IOC fills what it can at once and cancels the
    rest; FOK fills its whole size at once or nothing."""

    LIMIT = "limit"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(enum.Enum):
    RESTING = "resting"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


class CancelReason(enum.Enum):
    """Why an order (or its remainder) left the book without filling."""

    MEMBER = "member"  # the member cancelled it
    UNFILLED_IOC = "unfilled_ioc"  # IOC remainder
    FOK_NOT_FILLABLE = "fok_not_fillable"  # FOK could not fill in full: nothing traded
    SELF_TRADE = "self_trade"  # it would have crossed the member's own resting order (cancel newest)
    BELOW_MIN_FILL = "below_min_fill"  # the remainder is smaller than the order's own minimum fill
    SESSION_END = "session_end"  # the trading session closed
    CANNOT_SETTLE = "cannot_settle"  # a fill of it could not settle for its member's want (cash, bonds, approval)


@dataclass(frozen=True, slots=True)
class Order:
    """What the member signs: every fill of this order must stay within these limits.

    ``size_units`` bounds the sum of fills; each fill is at least ``min_fill_units``; each fill's rate is at least
    ``rate_e18`` for a LEND and at most ``rate_e18`` for a BORROW."""

    order_id: str
    member: str
    instrument: Instrument
    side: Side
    rate_e18: int
    size_units: int
    min_fill_units: int = 1
    tif: TimeInForce = TimeInForce.LIMIT

    def accepts_rate(self, rate_e18: int) -> bool:
        """Whether a fill at ``rate_e18`` is within this order's signed rate bound."""
        return rate_e18 >= self.rate_e18 if self.side is Side.LEND else rate_e18 <= self.rate_e18


@dataclass(frozen=True, slots=True)
class Fill:
    """One match: ``amount_units`` of cash lent by ``lender`` to ``borrower`` at ``rate_e18`` (the resting
    order's rate). ``sequence`` orders fills book-wide."""

    sequence: int
    instrument: Instrument
    lend_order_id: str
    borrow_order_id: str
    lender: str
    borrower: str
    rate_e18: int
    amount_units: int
    aggressor: Side


@dataclass(frozen=True, slots=True)
class Cancellation:
    order_id: str
    remaining_units: int
    reason: CancelReason


@dataclass(frozen=True, slots=True)
class Outcome:
    """The book's answer to one submit or amend: the order's status afterwards, its fills, and every order that
    left the book (the order's own remainder, and any resting order a fill left below its minimum)."""

    order_id: str
    status: OrderStatus
    filled_units: int
    remaining_units: int
    fills: tuple[Fill, ...]
    cancellations: tuple[Cancellation, ...]
