"""GET /v1/prices/history: the oracle's prices for a pair as the price follower stored them, oldest first, in
percent of par, with the guard rails a new price meets; market data for any member, not for outsiders."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.db.models import Role
from gateway.indexer.models import OraclePrice, OraclePricePoint
from tests.gateway.conftest import World
from tests.gateway.market import BOND, CASH, list_instrument, market_world

PAR = 10_000 * 10**18  # 100 % of par at 2 bond and 6 cash decimals (tests/gateway/operator/test_price_units.py)


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


def _followed(world: World, prices: list[tuple[int, int]], *, max_age: int, updated_at: int) -> None:
    """(block, raw price) as the price follower writes them."""
    with world.ctx.sessions() as session:
        for block, raw in prices:
            session.add(
                OraclePricePoint(asset=BOND, quote=CASH, block=block, log_index=0, price=str(raw), updated_at=block)
            )
        session.add(
            OraclePrice(asset=BOND, quote=CASH, price=str(prices[-1][1]), updated_at=updated_at, max_age=max_age)
        )
        session.commit()


def test_history_oldest_first_with_guard_rails(world: World) -> None:
    trader = world.user("a", Role.TRADER, "at")
    _followed(
        world,
        [(12, PAR * 99 // 100), (10, PAR), (15, PAR * 9_875 // 10_000)],
        max_age=3600,
        updated_at=int(time.time()),
    )
    answer = trader.get("/v1/prices/history", params={"asset": BOND, "quote": CASH})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(p["block"], p["price_percent_of_par"]) for p in body["data"]] == [(10, "100"), (12, "99"), (15, "98.75")]
    assert body["guard_rails"] == {
        "last_price_stale": False,
        "max_price_move_bps": 1_000,
        "band_min_percent_of_par": 20,
        "band_max_percent_of_par": 150,
        "max_age_seconds": 3600,
    }
    newest = trader.get("/v1/prices/history", params={"asset": BOND, "quote": CASH, "limit": 2}).json()["data"]
    assert [p["block"] for p in newest] == [12, 15]


def test_a_stale_price_says_so(world: World) -> None:
    trader = world.user("a", Role.TRADER, "at")
    _followed(world, [(10, PAR)], max_age=60, updated_at=int(time.time()) - 3600)
    rails = trader.get("/v1/prices/history", params={"asset": BOND, "quote": CASH}).json()["guard_rails"]
    assert rails["last_price_stale"] is True


def test_unlisted_pairs_and_outsiders_are_refused(world: World) -> None:
    trader = world.user("a", Role.TRADER, "at")
    assert trader.get("/v1/prices/history", params={"asset": CASH, "quote": BOND}).status_code == 404
    assert trader.get("/v1/prices/history", params={"asset": BOND, "quote": "0x12"}).status_code == 422
    assert world.client.get("/v1/prices/history", params={"asset": BOND, "quote": CASH}).status_code == 401
