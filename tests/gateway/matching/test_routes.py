"""/v1/gc: depth is anonymous and aggregates resting orders only; a member lists its own orders, never another's."""

from __future__ import annotations

import uuid

from gateway.matching.book import Book
from gateway.matching.credit import CreditLimits
from gateway.matching.orders import Order, Side, TimeInForce
from gateway.matching.store import new_order_row, record_outcome
from tests.gateway.conftest import Cast, World
from tests.gateway.matching.factories import BP, ON


def _seed(world: World) -> dict[str, str]:
    a, b = world.orgs["a"], world.orgs["b"]
    credit = CreditLimits()
    credit.set_limit(member=str(a), counterparty=str(b), limit_units=10**9)
    credit.set_limit(member=str(b), counterparty=str(a), limit_units=10**9)
    book = Book(instruments=[ON], credit=credit)
    ids: dict[str, str] = {}
    with world.ctx.sessions.begin() as session:
        for name, org, side, rate_bp, size, tif in (
            ("a-lend-1", a, Side.LEND, 340, 100, TimeInForce.LIMIT),
            ("a-lend-2", a, Side.LEND, 340, 50, TimeInForce.LIMIT),
            ("b-lend", b, Side.LEND, 345, 70, TimeInForce.LIMIT),
            ("b-borrow", b, Side.BORROW, 330, 20, TimeInForce.LIMIT),
            ("b-take", b, Side.BORROW, 340, 30, TimeInForce.IOC),
        ):
            order = Order(str(uuid.uuid4()), str(org), ON, side, rate_bp * BP, size, 1, tif)
            ids[name] = order.order_id
            session.add(new_order_row(organization_id=org, client_order_id=name, order=order))
            record_outcome(session, book, book.submit(order))
    return ids


def test_depth_is_anonymous_resting_only(world: World, cast: Cast) -> None:
    _seed(world)
    answer = cast.b_trader.get("/v1/gc/depth", params={"basket_id": "GC-EUR-A", "tenor": "ON"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["lend"] == [
        {"rate": str(340 * BP), "total_units": "120", "orders": 2},  # a-lend-1 took 30 of b-take
        {"rate": str(345 * BP), "total_units": "70", "orders": 1},
    ]
    assert body["borrow"] == [{"rate": str(330 * BP), "total_units": "20", "orders": 1}]
    assert str(world.orgs["a"]) not in answer.text and str(world.orgs["b"]) not in answer.text


def test_orders_are_the_members_own(world: World, cast: Cast) -> None:
    ids = _seed(world)
    mine = cast.a_trader.get("/v1/gc/orders", params={"order": "oldest"}).json()
    assert sorted((o["client_order_id"], o["status"], o["filled_units"]) for o in mine["data"]) == [
        ("a-lend-1", "resting", "30"),
        ("a-lend-2", "resting", "0"),
    ]
    assert mine["next_cursor"] is None
    theirs = cast.b_trader.get("/v1/gc/orders", params={"limit": 2}).json()
    assert {o["id"] for o in theirs["data"]} <= {ids["b-lend"], ids["b-borrow"], ids["b-take"]}
    assert theirs["next_cursor"] is not None
    rest = cast.b_trader.get("/v1/gc/orders", params={"limit": 2, "cursor": theirs["next_cursor"]}).json()
    assert len(theirs["data"]) + len(rest["data"]) == 3 and rest["next_cursor"] is None
