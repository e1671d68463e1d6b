"""The GC market's reference rate for a bilateral trade: the latest end-of-day fixing before the trade's day, in
the trade's currency, at the standard tenor nearest its term. Surveillance measures a trade's spread from it (the
off-market rule): a rate far from where the anonymous market cleared is a rate to explain.

Only a day that several pairs of members traded counts (``MIN_PAIRS``), and the trade's own members' fills are left
out: two members who give credit only to each other could otherwise fix the reference their own trade is measured
against."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from gateway.matching.instruments import Tenor
from gateway.matching.market_data import div_toward_zero
from gateway.matching.models import FillStatus, GcBasketRow, GcFill, GcOrder

LOOKBACK_DAYS = 7  # an older fixing is no longer where the market is
MIN_PAIRS = 2  # distinct pairs of members a day's fills must come from
SETTLED = FillStatus.SETTLED.value
# the same-start tenors by their term in days (tom-next starts a day later: it is not a term of its own)
TERM_DAYS = {Tenor.OVERNIGHT: 1, Tenor.ONE_WEEK: 7, Tenor.TWO_WEEKS: 14, Tenor.ONE_MONTH: 30, Tenor.THREE_MONTHS: 91}


@dataclass(frozen=True)
class ReferenceFixing:
    rate: int  # annual, 1e18 scale
    tenor: Tenor
    day: dt.date
    volume_units: int


def nearest_tenor(term_days: int) -> Tenor:
    """The standard tenor closest to a term (an open repo, term 0, is overnight money)."""
    return min(TERM_DAYS, key=lambda tenor: (abs(TERM_DAYS[tenor] - max(term_days, 1)), TERM_DAYS[tenor]))


FixingRows = list[tuple[dt.datetime, int, int, frozenset[str]]]  # settled fills: when, rate, amount, the pair
FixingMemo = dict[tuple[str, str, dt.date], FixingRows]


def reference_fixing(
    session: Session,
    *,
    cash_token: str,
    term_days: int,
    day: dt.date,
    excluding: frozenset[str] = frozenset(),
    memo: FixingMemo | None = None,
) -> ReferenceFixing | None:
    """The volume-weighted rate of the latest UTC day before ``day`` (within ``LOOKBACK_DAYS``) with settled GC
    fills in ``cash_token`` at the tenor nearest ``term_days``, over every basket in that currency, from at least
    ``MIN_PAIRS`` pairs of members none of whom is in ``excluding`` (organization ids); None without. ``memo`` keeps
    the fills read for a (currency, tenor, day) across calls (the surveillance feed asks once per signed trade)."""
    tenor = nearest_tenor(term_days)
    key = (cash_token.lower(), tenor.value, day)
    rows = memo.get(key) if memo is not None else None
    if rows is None:
        rows = _settled_fills(session, cash_token, tenor.value, day)
        if memo is not None:
            memo[key] = rows
    days: dict[dt.date, list[tuple[int, int, frozenset[str]]]] = {}
    for at, fill_rate, amount, pair in rows:
        if not pair & excluding:
            days.setdefault(utc_day(at), []).append((int(fill_rate), int(amount), pair))
    for latest in sorted(days, reverse=True):
        fills = days[latest]
        volume = sum(amount for _, amount, _ in fills)
        if len({pair for _, _, pair in fills}) < MIN_PAIRS or volume <= 0:
            continue
        weighted = sum(r * amount for r, amount, _ in fills)
        return ReferenceFixing(rate=div_toward_zero(weighted, volume), tenor=tenor, day=latest, volume_units=volume)
    return None


def _settled_fills(session: Session, cash_token: str, tenor: str, day: dt.date) -> FixingRows:
    end = dt.datetime.combine(day, dt.time(0), dt.UTC)
    lend, borrow = aliased(GcOrder), aliased(GcOrder)
    rows = session.execute(
        select(GcFill.created_at, GcFill.rate, GcFill.amount_units, lend.organization_id, borrow.organization_id)
        .join(GcBasketRow, GcBasketRow.basket_id == GcFill.basket_id)
        .join(lend, lend.id == GcFill.lend_order_id)
        .join(borrow, borrow.id == GcFill.borrow_order_id)
        .where(
            func.lower(GcBasketRow.cash_token) == cash_token.lower(),
            GcFill.tenor == tenor,
            GcFill.forward_start_days == 0,  # a forward start's rate prices another period
            GcFill.status == SETTLED,
            GcFill.created_at >= end - dt.timedelta(days=LOOKBACK_DAYS),
            GcFill.created_at < end,
        )
    ).all()
    return [
        (at, int(rate), int(amount), frozenset({str(lender), str(borrower)}))
        for at, rate, amount, lender, borrower in rows
    ]


def utc_day(at: dt.datetime | str) -> dt.date:
    """The UTC date of a moment (an ISO 8601 string, or a datetime; a naive one is UTC)."""
    moment = dt.datetime.fromisoformat(at) if isinstance(at, str) else at
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).date()
