"""Tom-next and forward-starting orders: what they sign (their opening day's start and end), when the book expires
them (their trading day's end, before the signed deadline), and how a fill waits for its opening day: ``scheduled``
until the chain's clock reaches it, then planned once, trying again while no bond is priced yet that morning."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from sqlalchemy import select

from gateway.db.models import Wallet
from gateway.matching import entry, instructions, outcomes, scheduled, session_end, settle
from gateway.matching.instruments import Tenor
from gateway.matching.models import GcFill, GcInstruction, GcOrder
from gateway.matching.schemas import FillIn, OrderStateIn, OutcomeIn
from tests.gateway.conftest import World
from tests.gateway.fake_tokens import FakeToken
from tests.gateway.matching.test_outcome_checks import _order, book
from tests.gateway.matching.test_plan_fault import BOND, _Call, _Market, _parties

__all__ = ["book"]
DAY = 86_400
NOON = int(dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC).timestamp())  # a Monday
MIDNIGHT = NOON - DAY // 2


def test_a_same_day_order_signs_its_trading_day_and_expires_at_its_end() -> None:
    dates = entry.order_dates(Tenor.OVERNIGHT, 0, NOON)
    assert (dates.start, dates.maturity) == (MIDNIGHT, MIDNIGHT + DAY)
    assert dates.deadline == dates.expires_at == MIDNIGHT + DAY - 1


def test_a_tom_next_order_signs_tomorrow_and_leaves_the_book_tonight() -> None:
    dates = entry.order_dates(Tenor.TOM_NEXT, 0, NOON)
    assert (dates.start, dates.maturity) == (MIDNIGHT + DAY, MIDNIGHT + 2 * DAY)
    assert dates.deadline == MIDNIGHT + 2 * DAY - 1  # fills may open all of tomorrow
    assert dates.expires_at == MIDNIGHT + DAY - 1  # but are matched only today


def test_a_forward_start_opens_days_later_for_its_tenor() -> None:
    dates = entry.order_dates(Tenor.ONE_WEEK, 7, NOON)
    assert (dates.start, dates.maturity) == (MIDNIGHT + 7 * DAY, MIDNIGHT + 14 * DAY)
    assert (dates.deadline, dates.expires_at) == (MIDNIGHT + 8 * DAY - 1, MIDNIGHT + DAY - 1)


def test_the_book_expires_an_order_at_its_trading_days_end_not_its_signed_deadline(book: World) -> None:
    order = _order(book, "a", "borrow", 5, expires_at=NOON, deadline=NOON + DAY)
    with book.ctx.sessions() as session:
        assert session_end.expire_overdue(session, NOON) == 0
        assert session_end.expire_overdue(session, NOON + 1) == 1
        session.commit()
        asked = session.scalars(select(GcInstruction.order_id).where(GcInstruction.action == "expire")).all()
        assert asked == [order]


class _Holdings:
    def __init__(self, held: int) -> None:
        self.held = held

    def allowance(self, owner: str, spender: str) -> _Call:
        return _Call(2**256 - 1)


class _Clock(_Market):
    """The plan's chain reads at a chosen chain time, the borrower holding the bond (``bond_held`` of it)."""

    engine_address = "0x" + "ee" * 20

    def __init__(self, now: int, *, stale: bool = False, bond_held: int = 10**30) -> None:
        super().__init__(stale=stale)
        self.at, self.bond_held = now, bond_held

    def now(self) -> int:
        return self.at

    def token(self, address: str) -> Any:
        held = self.bond_held if address == BOND else 10**30
        return FakeToken(address, held, functions=_Holdings(held))

    def allowance_unlimited(self, owner: str, token: str) -> bool:
        return True


def _forward_parties(world: World, start: int) -> settle.FillParties:
    """A lend and a borrow order signed for an opening day starting at ``start``, each of a custodial wallet."""
    parties = _parties(world)
    with world.ctx.sessions() as session:
        for row in (parties.lend, parties.borrow):
            row.signed = {**cast(dict[str, Any], row.signed), "start": str(start), "deadline": str(start + DAY - 1)}
            wallet = Wallet(organization_id=row.organization_id, address=str(row.signed["maker"]), kind="custodial",
                            label="desk")  # fmt: skip
            session.add(wallet)
            session.flush()
            row.wallet_id = wallet.id
            session.merge(row)
        session.commit()
    return parties


def _scheduled_fill(world: World, start: int) -> tuple[int, settle.FillParties]:
    parties = _forward_parties(world, start)
    sequence = uuid.uuid4().int % 10**9
    with world.ctx.sessions() as session:
        fill = GcFill(sequence=sequence, lend_order_id=parties.lend.id, borrow_order_id=parties.borrow.id,
                      basket_id="GC-A", tenor="TN", forward_start_days=0, rate="4", amount_units="500",
                      aggressor="lend")  # fmt: skip
        session.add(fill)
        session.flush()
        chosen = settle.plan(cast(Any, _Clock(start - 60)), session, parties, 500)
        assert chosen.opens_at == start and chosen.failure is None  # a minute before its day: it waits
        settle.enqueue_fill(session, cast(Any, None), fill, parties, chosen)
        session.commit()
        assert (fill.status, fill.opens_at, fill.settlement_id) == ("scheduled", start, None)
    return sequence, parties


def _status(world: World, sequence: int) -> str:
    with world.ctx.sessions() as session:
        fill = session.get(GcFill, sequence)
        assert fill is not None
        return fill.status


def test_a_scheduled_fill_is_not_due_before_its_day_and_tries_again_while_no_bond_is_priced(book: World) -> None:
    start = MIDNIGHT + DAY
    sequence, _ = _scheduled_fill(book, start)
    sweep = scheduled.ScheduledSweep()
    assert sweep.plan_due(cast(Any, _Clock(start - 1)), book.ctx.read_sessions, start - 1) == {}

    stale = sweep.plan_due(cast(Any, _Clock(start + 5, stale=True)), book.ctx.read_sessions, start + 5)
    assert stale[sequence].failure is not None and stale[sequence].passing  # no price yet this morning
    with book.ctx.sessions() as session:
        assert scheduled.open_due(session, cast(Any, None), stale) == 0
        session.commit()
    assert _status(book, sequence) == "scheduled"

    late = sweep.plan_due(cast(Any, _Clock(start + DAY, stale=True)), book.ctx.read_sessions, start + DAY)
    assert late[sequence].failure is not None and not late[sequence].passing  # its day is over: it fails for good
    for _ in range(2):  # queued once, whoever else sweeps
        with book.ctx.sessions() as session:
            scheduled.open_due(session, cast(Any, None), late)
            session.commit()
    assert _status(book, sequence) == "failed"
    with book.ctx.sessions() as session:
        fill = session.get(GcFill, sequence)
        assert fill is not None and fill.credit_released_at is not None  # its credit comes back once
        releases = session.scalars(select(GcInstruction).where(GcInstruction.action == "release")).all()
        assert len(releases) == 1


def test_a_forward_fill_its_member_cannot_settle_fails_at_the_match_not_on_its_day(book: World) -> None:
    """Checked at the match like a same-day fill: the borrower holding no bond of the basket is at fault today (its
    order is withdrawn), rather than failing the fill after the other side's order has left the book."""
    start = MIDNIGHT + DAY
    parties = _forward_parties(book, start)
    with book.ctx.sessions() as session:
        chosen = settle.plan(cast(Any, _Clock(start - 3_600, bond_held=0)), session, parties, 500, at_match=True)
    assert (chosen.opens_at, chosen.at_fault) == (None, "borrow") and chosen.failure is not None


def test_a_match_recorded_after_an_orders_trading_day_is_refused(book: World) -> None:
    """A late answer cannot trade yesterday's tom-next orders at today's rates, though their signatures still hold."""
    start = MIDNIGHT + DAY
    parties = _forward_parties(book, start)
    for row in (parties.lend, parties.borrow):
        row.expires_at = start - 1
    with book.ctx.sessions() as session:
        on_time = settle.plan(cast(Any, _Clock(start - 1)), session, parties, 500, at_match=True)
        made_at_midnight = settle.plan(cast(Any, _Clock(start + 30)), session, parties, 500, at_match=True)
        late = settle.plan(cast(Any, _Clock(start + settle.LATE_ANSWER_SECONDS)), session, parties, 500, at_match=True)
    assert on_time.opens_at == start
    assert made_at_midnight.failure is None  # a match made at the day's last second, recorded a moment later
    assert late.failure is not None and late.opens_at is None and "trading day had ended" in str(late.detail)


def test_an_ioc_rest_cancelled_with_its_tom_next_fill_holds_its_void_for_that_fill(book: World) -> None:
    """One answer fills a TN IOC order in part and cancels its rest: the order's signature outlives its trading day,
    so it is voided on chain, but only once the fill recorded in that same answer has opened; and the order's
    new status is kept."""
    start = MIDNIGHT + DAY
    parties = _forward_parties(book, start)
    with book.ctx.sessions.begin() as session:
        for row in (parties.lend, parties.borrow):
            merged = session.merge(row)
            merged.expires_at, merged.deadline = start - 1, start + DAY - 1
        sequence = instructions.add(session, action="submit", order_id=parties.lend.id).sequence
    fill = FillIn(sequence=7, lend_order_id=parties.lend.id, borrow_order_id=parties.borrow.id, rate="4",
                  amount_units="500")  # fmt: skip
    body = OutcomeIn(sequence=sequence, fills=[fill], orders=[
        OrderStateIn(order_id=parties.lend.id, status="cancelled", cancel_reason="unfilled_ioc")])  # fmt: skip
    with book.ctx.sessions() as session:
        assert outcomes.record(session, body, {7: settle.FillPlan(opens_at=start)}, cast(Any, None))
        session.commit()
    with book.ctx.sessions() as session:
        lend = session.get(GcOrder, parties.lend.id)
        assert lend is not None and (lend.status, lend.cancel_reason) == ("cancelled", "unfilled_ioc")
        assert lend.nonce_void_due  # held: the fill waits for its day
        recorded = session.get(GcFill, 7)
        assert recorded is not None and recorded.status == "scheduled"
