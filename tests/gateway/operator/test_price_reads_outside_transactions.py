"""A price posting reads the oracle's current price before the request's write transaction opens: a JSON-RPC call
made while holding SQLite's write lock stops every other writer for as long as the node takes. The oracle here
answers through the guard as the real transport does (gateway.chain.guard), so this fails when the route reads the
oracle inside its transaction (it did: ``_previous`` was called with the write session open)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gateway.chain import guard
from gateway.db.models import Role
from gateway.operator.prices import PRICE_SCALE
from gateway.settlement.hub import Hub
from tests.gateway.conftest import World, make_settings
from tests.gateway.market import BOND, CASH, ENGINE, call, list_instrument, market_world, step_up

PAR = 10_000 * PRICE_SCALE  # 100 percent of par: bond at 2 decimals, cash at 6


@dataclass
class GuardedCall:
    reads: list[str]
    value: tuple[int, int]

    def call(self, **_: Any) -> tuple[int, int]:
        guard.check("eth_call getPrice")
        self.reads.append("getPrice")
        return self.value


@dataclass
class GuardedOracle:
    """A PriceOracle contract whose reads ask the guard first, as the seam's transport does."""

    reads: list[str] = field(default_factory=list)
    address: str = "0x" + "0a" * 20

    @property
    def functions(self) -> GuardedOracle:
        return self

    def getPrice(self, _asset: str, _quote: str) -> GuardedCall:
        return GuardedCall(self.reads, (PAR, 1))


@dataclass(frozen=True)
class Feeder:
    address: str = "0x" + "fe" * 20


@dataclass
class OracleMarket:
    """What a price posting uses of the market: the oracle, the feeder's account and calldata."""

    oracle: GuardedOracle = field(default_factory=GuardedOracle)
    feeder: Feeder = field(default_factory=Feeder)

    def encode(self, _contract: Any, _fn: str, *_args: Any) -> str:
        return "0x00"


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    hub = Hub(chain_id=make_settings(tmp_path, db_url).chain_id, engine=ENGINE, market=OracleMarket())  # type: ignore[arg-type]
    for w in market_world(tmp_path, db_url, hub=hub):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


def test_a_price_posting_reads_the_oracle_outside_the_write_transaction(world: World) -> None:
    assert guard.guard.enabled  # tests/gateway runs with the guard on
    admin = world.user("op", Role.OPERATOR_ADMIN, "admin")
    step_up(admin)
    response = call(admin, "/v1/operator/prices", {"asset": BOND, "quote": CASH, "price_percent_of_par": "99.5"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["previous_percent_of_par"] == "100"  # the oracle's price, read before the transaction
    assert body["move_bps"] == 50
    assert body["status"] == "posted"
    market = world.client.app.state.hub.market  # type: ignore[attr-defined]
    assert market.oracle.reads == ["getPrice"]
    again = call(admin, "/v1/operator/prices", {"asset": BOND, "quote": CASH, "price_percent_of_par": "99"})
    assert again.status_code == 202, again.text
    assert again.json()["previous_percent_of_par"] == "99.5"  # the gateway's own last posting
