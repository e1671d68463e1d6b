"""The GC book's market data: each settled fill told on the stream and by webhook, anonymously to every member as a
trade (``gc.trade``: instrument, rate, amount) and to its two members as their fill (``gc.fill``, with the repo);
the trades per instrument over REST; and the end-of-day fixing per instrument, the volume-weighted rate of the
day's settled fills (a reference rate for surveillance and members' pricing)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models import Organization
from gateway.matching.models import FillStatus, GcFill, GcOrder
from gateway.trading.announce import Announcer

SETTLED = FillStatus.SETTLED.value


def announce_settled(session: Session, fill: GcFill) -> None:
    """Tell a settled fill in the caller's transaction (relayed: the relayer's process serves no stream)."""
    announcer = Announcer(None, session, relay=True)
    trade: dict[str, str | None] = {
        "sequence": str(fill.sequence),
        "basket_id": fill.basket_id,
        "tenor": fill.tenor,
        "forward_start_days": str(fill.forward_start_days),
        "rate": fill.rate,
        "amount_units": fill.amount_units,
    }
    members = set(session.scalars(select(Organization.id).where(Organization.is_operator.is_(False))))
    announcer.send("gc.trade", trade, members)
    parties = set(
        session.scalars(
            select(GcOrder.organization_id).where(GcOrder.id.in_([fill.lend_order_id, fill.borrow_order_id]))
        )
    )
    announcer.send("gc.fill", {**trade, "repo_id": str(fill.repo_id), "status": fill.status}, parties)


@dataclass(frozen=True)
class Fixing:
    basket_id: str
    tenor: str
    day: dt.date
    rate: int | None  # 1e18 scale; None: no settled fill that day
    volume_units: int
    fills: int


def fixing(session: Session, *, basket_id: str, tenor: str, day: dt.date) -> Fixing:
    """The volume-weighted rate of the fills matched on ``day`` (UTC) in one standard tenor, once settled (a tom-next
    fill counts from its opening day), rounded toward zero."""
    start = dt.datetime.combine(day, dt.time(0), dt.UTC)
    rows = session.scalars(
        select(GcFill).where(
            GcFill.basket_id == basket_id,
            GcFill.tenor == tenor,
            GcFill.forward_start_days == 0,  # the standard tenor: a forward start's rate prices another period
            GcFill.status == SETTLED,
            GcFill.created_at >= start,
            GcFill.created_at < start + dt.timedelta(days=1),
        )
    ).all()
    volume = sum(int(r.amount_units) for r in rows)
    weighted = sum(int(r.amount_units) * int(r.rate) for r in rows)
    rate = div_toward_zero(weighted, volume) if volume else None
    return Fixing(basket_id=basket_id, tenor=tenor, day=day, rate=rate, volume_units=volume, fills=len(rows))


def div_toward_zero(numerator: int, denominator: int) -> int:
    """Integer division rounded toward zero (Python's // floors negatives)."""
    quotient = abs(numerator) // denominator
    return quotient if numerator >= 0 else -quotient
