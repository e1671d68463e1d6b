"""Trading reads the chain's clock before the request's write transaction opens: ``Hub.now()`` may ask the node
for the latest block (Market.now re-reads it once a second), and a JSON-RPC call made while holding SQLite's write
lock stops every other writer for as long as the node takes. Here the hub's clock asks through the guard as the
real transport does (gateway.chain.guard), so these fail when a route reads the clock inside its transaction (they
did: POST /v1/trades, RFQ creation and acceptance, and retry read ``hub.now()`` mid-transaction)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.chain import guard
from gateway.db.models import Role
from gateway.settlement.hub import Hub
from tests.gateway.conftest import World, make_settings
from tests.gateway.market import (
    BOND,
    CASH,
    ENGINE,
    approve_member,
    call,
    custodial_wallet,
    list_instrument,
    market_world,
)


class NodeClockHub(Hub):
    """A hub whose clock is read from the node on every call (as Market.now is when its reading is stale)."""

    def __init__(self, chain_id: int) -> None:
        super().__init__(chain_id=chain_id, engine=ENGINE)
        self.reads = 0

    def now(self) -> int:
        guard.check("eth_getBlockByNumber")
        self.reads += 1
        return int(time.time())


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    hub = NodeClockHub(make_settings(tmp_path, db_url).chain_id)
    for w in market_world(tmp_path, db_url, hub=hub):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


def _hub(world: World) -> NodeClockHub:
    hub = world.client.app.state.hub  # type: ignore[attr-defined]
    assert isinstance(hub, NodeClockHub)
    return hub


def _members(world: World) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    wa, wb = custodial_wallet(a), custodial_wallet(b)
    approve_member(world, "a")
    approve_member(world, "b")
    return a, b, wa, wb


def test_direct_terms_read_the_chain_clock_outside_the_write_transaction(world: World) -> None:
    assert guard.guard.enabled  # tests/gateway runs with the guard on
    a, _, wa, wb = _members(world)
    body = {
        "role": "seller",
        "wallet_id": wa["id"],
        "counterparty_wallet": wb["address"],
        "cash_token": CASH,
        "collateral_token": BOND,
        "purchase_price": "1000",
        "collateral_amount": "1100",
        "rate": "0.01",
        "haircut_bps": 200,
        "tenor_seconds": 3600,
    }
    response = call(a, "/v1/trades", body)  # keyed: its write session is held until the answer commits
    assert response.status_code == 201, response.text
    assert _hub(world).reads >= 1


def test_rfq_and_acceptance_read_the_chain_clock_outside_the_write_transaction(world: World) -> None:
    a, b, wa, wb = _members(world)
    rfq = call(
        a,
        "/v1/rfqs",
        {
            "seller_wallet_id": wa["id"],
            "cash_token": CASH,
            "collateral_token": BOND,
            "purchase_price": "1000",
            "collateral_amount": "1100",
            "tenor_seconds": 3600,
        },
    )
    assert rfq.status_code == 201, rfq.text
    quote = call(
        b, f"/v1/rfqs/{rfq.json()['id']}/quotes", {"buyer_wallet_id": wb["id"], "rate": "0.01", "haircut_bps": 200}
    )
    assert quote.status_code == 201, quote.text
    trade = call(a, f"/v1/rfqs/{rfq.json()['id']}/accept", {"quote_id": quote.json()["id"]})
    assert trade.status_code == 201, trade.text
    assert _hub(world).reads >= 2
