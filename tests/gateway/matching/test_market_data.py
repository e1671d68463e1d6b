"""The GC book's market data: a settled fill is told to every member as an anonymous trade and to its two members
as their fill, in the shapes docs/asyncapi.json describes; the daily fixing is the volume-weighted rate of the
day's settled fills."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from sqlalchemy import select

from gateway.events.models import RelayedMessage
from gateway.matching import market_data
from gateway.matching.models import GcFill, GcOrder
from tests.gateway.conftest import World

DOC = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"
DAY = dt.date(2026, 12, 4)


def _order(world: World, org: str, side: str) -> uuid.UUID:
    with world.ctx.sessions.begin() as session:
        row = GcOrder(
            id=uuid.uuid4(), organization_id=world.orgs[org], client_order_id=uuid.uuid4().hex, basket_id="GC-A",
            tenor="1W", forward_start_days=0, side=side, tif="limit", rate="0", size_units="100",
            min_fill_units="1", filled_units="0", status="resting", priority=1,
        )  # fmt: skip
        session.add(row)
        return row.id


def _fill(world: World, sequence: int, rate: int, amount: int, *, status: str = "settled") -> GcFill:
    lend, borrow = _order(world, "b", "lend"), _order(world, "a", "borrow")
    with world.ctx.sessions.begin() as session:
        fill = GcFill(
            sequence=sequence, lend_order_id=lend, borrow_order_id=borrow, basket_id="GC-A", tenor="1W",
            forward_start_days=0, rate=str(rate), amount_units=str(amount), aggressor="lend", status=status,
            repo_id=sequence, created_at=dt.datetime.combine(DAY, dt.time(12), dt.UTC),
        )  # fmt: skip
        session.add(fill)
    return fill


def test_a_settled_fill_is_told_as_described(world: World) -> None:
    fill = _fill(world, 1, 3 * 10**16, 500)
    with world.ctx.sessions.begin() as session:
        market_data.announce_settled(session, session.get(GcFill, fill.sequence))  # type: ignore[arg-type]
    payload = json.loads(DOC.read_text())["components"]["messages"]["gcEvent"]["payload"]
    described = set(payload["properties"]["data"]["properties"])
    with world.ctx.sessions() as session:
        rows = {r.event["type"]: r for r in session.scalars(select(RelayedMessage))}
    assert set(rows) == {"gc.trade", "gc.fill"}
    for row in rows.values():
        event = row.event
        assert set(event) == set(payload["properties"]) == set(payload["required"])
        assert set(event["data"]) <= described and set(payload["properties"]["data"]["required"]) <= set(event["data"])
    members = {str(world.orgs["a"]), str(world.orgs["b"])}
    assert set(rows["gc.trade"].organizations) == members  # every member (not the operator), anonymously
    assert "repo_id" not in rows["gc.trade"].event["data"]
    assert set(rows["gc.fill"].organizations) == members  # the fill's two members
    assert rows["gc.fill"].event["data"]["repo_id"] == "1"


def test_the_fixing_is_the_volume_weighted_rate_of_the_days_settled_fills(world: World) -> None:
    _fill(world, 1, 3 * 10**16, 300)
    _fill(world, 2, 4 * 10**16, 100)
    _fill(world, 3, 9 * 10**16, 1_000, status="failed")  # never settled: not a trade
    with world.ctx.sessions() as session:
        found = market_data.fixing(session, basket_id="GC-A", tenor="1W", day=DAY)
        empty = market_data.fixing(session, basket_id="GC-A", tenor="1W", day=DAY + dt.timedelta(days=1))
    assert (found.rate, found.volume_units, found.fills) == (325 * 10**14, 400, 2)
    assert (empty.rate, empty.volume_units, empty.fills) == (None, 0, 0)
