"""The GC market as surveillance's reference rate: an agreed bilateral trade on the feed carries the latest
end-of-day GC fixing before its day, in its currency at the tenor nearest its term, from several pairs of members
other than the trade's own, and the off-market rule measures the trade's spread from it (over the operator's
configured rate). A day one pair traded, or the trade's own members' fills, fix nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.db import audit_log
from gateway.db.models import Role
from gateway.matching.instruments import Tenor
from gateway.matching.models import GcBasketRow, GcFill, GcOrder
from gateway.matching.reference import nearest_tenor, reference_fixing
from gateway.surveillance import feed
from gateway.surveillance.case_schemas import FeedItemPublic
from gateway.surveillance.scorer import trade_of
from gateway.trading.models import Trade
from tests.gateway.conftest import World
from tests.gateway.market import BOND, CASH, list_instrument, market_world
from tests.gateway.trading.test_trading_policy import agreed_trade

OTHER_CASH = "0x" + "cd" * 20
TODAY = dt.date(2026, 12, 7)  # a trade's day for the lookups (the feed's test takes its audit entry's)
PCT = 10**16  # 1 % a year, 1e18 scale


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        for key in ("c", "d", "e"):
            w.org(key, name=f"Fund {key.upper()}")
        with w.ctx.sessions.begin() as session:
            for basket_id, cash in (("GC-EUR-1", CASH), ("GC-EUR-2", CASH.upper().replace("0X", "0x")),
                                    ("GC-USD", OTHER_CASH)):  # fmt: skip
                session.add(
                    GcBasketRow(basket_id=basket_id, cash_token=cash, day_count_basis=360, min_transfer_amount="0",
                                margin_cure_period=0, grace_period=0, bonds=[{"token": BOND, "haircut_bps": 200}],
                                basket_hash="0x" + uuid.uuid4().hex * 2, created_by="test")
                )  # fmt: skip
        yield w


def _fill(world: World, basket_id: str, tenor: Tenor, rate: int, amount: int, day: dt.date, *,
          status: str = "settled", pair: tuple[str, str] = ("c", "d")) -> None:  # fmt: skip
    with world.ctx.sessions.begin() as session:
        orders = []
        for org, side in ((pair[0], "lend"), (pair[1], "borrow")):
            order = GcOrder(
                id=uuid.uuid4(), organization_id=world.orgs[org], client_order_id=uuid.uuid4().hex,
                basket_id=basket_id, tenor=tenor.value, forward_start_days=0, side=side, tif="limit",
                rate=str(rate), size_units=str(amount), min_fill_units="1", filled_units=str(amount),
                status="filled", priority=1,
            )  # fmt: skip
            session.add(order)
            orders.append(order.id)
        session.flush()
        last = session.query(GcFill.sequence).order_by(GcFill.sequence.desc()).first()
        session.add(
            GcFill(sequence=(last[0] if last else 0) + 1, lend_order_id=orders[0], borrow_order_id=orders[1],
                   basket_id=basket_id, tenor=tenor.value, forward_start_days=0, rate=str(rate),
                   amount_units=str(amount), aggressor="lend", status=status,
                   created_at=dt.datetime.combine(day, dt.time(12), dt.UTC))
        )  # fmt: skip


@pytest.mark.parametrize(
    ("term_days", "tenor"),
    [(0, Tenor.OVERNIGHT), (1, Tenor.OVERNIGHT), (3, Tenor.OVERNIGHT), (5, Tenor.ONE_WEEK), (10, Tenor.ONE_WEEK),
     (11, Tenor.TWO_WEEKS), (31, Tenor.ONE_MONTH), (200, Tenor.THREE_MONTHS)],
)  # fmt: skip
def test_a_term_reads_the_nearest_standard_tenor(term_days: int, tenor: Tenor) -> None:
    assert nearest_tenor(term_days) is tenor


def test_the_reference_is_the_latest_days_fixing_before_the_trade_in_its_currency(world: World) -> None:
    yesterday, before = TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=3)
    _fill(world, "GC-EUR-1", Tenor.ONE_WEEK, 2 * PCT, 100, before)  # an older day: not the latest
    _fill(world, "GC-EUR-1", Tenor.ONE_WEEK, 2 * PCT, 100, before, pair=("d", "e"))
    _fill(world, "GC-EUR-1", Tenor.ONE_WEEK, 3 * PCT, 300, yesterday)
    _fill(world, "GC-EUR-2", Tenor.ONE_WEEK, 4 * PCT, 100, yesterday, pair=("e", "c"))  # another basket, same currency
    _fill(world, "GC-EUR-1", Tenor.ONE_WEEK, 9 * PCT, 100, yesterday, status="failed")  # never settled
    _fill(world, "GC-EUR-1", Tenor.ONE_WEEK, 9 * PCT, 100, TODAY, pair=("d", "e"))  # the trade's own day: not fixed
    _fill(world, "GC-EUR-1", Tenor.ONE_MONTH, 9 * PCT, 100, yesterday, pair=("d", "e"))  # another tenor
    _fill(world, "GC-USD", Tenor.ONE_WEEK, 9 * PCT, 100, yesterday, pair=("d", "e"))  # another currency
    with world.ctx.sessions() as session:
        found = reference_fixing(session, cash_token=CASH, term_days=7, day=TODAY)
        assert found is not None
        assert (found.rate, found.tenor, found.day, found.volume_units) == (
            (3 * PCT * 300 + 4 * PCT * 100) // 400, Tenor.ONE_WEEK, yesterday, 400,
        )  # fmt: skip
        assert reference_fixing(session, cash_token=CASH, term_days=7, day=before) is None  # nothing before it
        assert reference_fixing(session, cash_token=CASH, term_days=91, day=TODAY) is None  # no 3M fills
        stale = TODAY + dt.timedelta(days=9)  # the last fixing is more than a week old by then
        assert reference_fixing(session, cash_token=CASH, term_days=7, day=stale) is None


def test_one_pair_or_the_trades_own_members_fix_nothing(world: World) -> None:
    yesterday, before = TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=2)
    _fill(world, "GC-EUR-1", Tenor.ONE_WEEK, 2 * PCT, 100, before)
    _fill(world, "GC-EUR-1", Tenor.ONE_WEEK, 2 * PCT, 100, before, pair=("d", "e"))  # two pairs: a fixing
    _fill(world, "GC-EUR-1", Tenor.ONE_WEEK, 9 * PCT, 500, yesterday)  # one pair, twice: no fixing that day
    _fill(world, "GC-EUR-1", Tenor.ONE_WEEK, 9 * PCT, 500, yesterday, pair=("d", "c"))
    orgs = {key: str(world.orgs[key]) for key in ("c", "d", "e")}
    with world.ctx.sessions() as session:
        found = reference_fixing(session, cash_token=CASH, term_days=7, day=TODAY)
        assert found is not None and (found.rate, found.day) == (2 * PCT, before)
        # a trade of C's is measured without C's own fills: only D-E's remain, one pair
        assert (
            reference_fixing(session, cash_token=CASH, term_days=7, day=TODAY, excluding=frozenset({orgs["c"]})) is None
        )


def test_an_agreed_trade_on_the_feed_is_measured_from_the_gc_fixing(world: World) -> None:
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    trade, _ = agreed_trade(world, a, b)  # a 1W repo
    with world.ctx.sessions.begin() as session:
        row = session.get(Trade, uuid.UUID(trade["id"]))
        assert row is not None
        row.seller_signature, row.buyer_signature = "0x01", "0x02"  # both signed: the trade is agreed
        entry = audit_log.append(session, actor="test", action="trade.signed", object_type="trade",
                                 object_id=trade["id"], change={})  # fmt: skip
        sequence, trade_day = entry.sequence, dt.datetime.fromisoformat(entry.at).astimezone(dt.UTC).date()
    day_before = trade_day - dt.timedelta(days=1)
    _fill(world, "GC-EUR-1", Tenor.ONE_WEEK, 3 * PCT, 1_000, day_before)
    _fill(world, "GC-EUR-1", Tenor.ONE_WEEK, 3 * PCT, 1_000, day_before, pair=("d", "e"))
    _fill(world, "GC-EUR-1", Tenor.ONE_WEEK, 9 * PCT, 50_000, day_before, pair=("a", "b"))  # its own members': out
    with world.ctx.sessions() as session:
        (item,) = feed.items(session, after=sequence - 1, limit=1)
    wire = FeedItemPublic.model_validate(item).model_dump(mode="json")
    assert wire["trade"]["reference_rate"] == str(3 * PCT)
    assert wire["trade"]["reference"] == f"GC fixing 1W {day_before.isoformat()}"
    # the fixing wins over the operator's configured rate; without it the configured rate stands
    configured = {CASH.lower(): 900.0}
    assert trade_of(wire, configured).reference_bps == 300.0
    wire["trade"]["reference_rate"] = None
    assert trade_of(wire, configured).reference_bps == 900.0
