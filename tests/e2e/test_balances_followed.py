"""/v1/balances serves the balance follower's table: Transfer events of listed instruments on a real chain move
the rows (each saying the block it reflects), and the route answers without asking the chain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.db.models import Role
from gateway.indexer.balances import BalanceFollower
from tests.e2e.chains import BOND_DECIMALS, CASH_DECIMALS, ChainProcess, Deployment, deploy, start_chain
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import Member, World
from tests.gateway.market import approve_member, call, custodial_wallet, hub_of

pytestmark = pytest.mark.slow


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainProcess]:
    yield from start_chain("reponet-node", tmp_path)


@pytest.fixture
def deployment(chain: ChainProcess) -> Deployment:
    return deploy(chain)


@pytest.fixture
def world(deployment: Deployment, tmp_path: Path) -> Iterator[World]:
    yield from chain_world(deployment, tmp_path)


def balances(member: Member) -> dict[tuple[str, str], dict[str, Any]]:
    response = member.get("/v1/balances")
    assert response.status_code == 200, response.text
    return {(row["wallet"], row["symbol"]): row for row in response.json()["data"]}


def wait_for(member: Member, key: tuple[str, str], balance: str, timeout: float = 60.0) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while True:
        row = balances(member)[key]
        seen = None if row["balance"] is None else Decimal(row["balance"])
        if seen == Decimal(balance) or time.monotonic() > end:
            assert seen == Decimal(balance), row
            return row
        time.sleep(0.1)


def test_balances_follow_transfers_and_are_read_from_the_table(deployment: Deployment, world: World) -> None:
    d = deployment
    admin = world.user("op", Role.OPERATOR_ADMIN, "admin")
    trader = world.user("a", Role.TRADER, "atrader")
    wallet = custodial_wallet(trader)["address"]
    other = world.user("b", Role.TRADER, "btrader")
    other_wallet = custodial_wallet(other)["address"]
    approve_member(world, "a")
    approve_member(world, "b")
    for address, kind in ((d.addresses["cash"], "cash"), (d.addresses["bond"], "bond")):
        assert call(admin, "/v1/operator/instruments", json={"address": address, "kind": kind}).status_code == 201
    symbols = {row["symbol"] for row in balances(trader).values()}
    assert len(symbols) == 2

    # seeded at zero, then moved by a mint straight on the chain (no gateway involved)
    d.send(d.deployer, d.bond.functions.mint(wallet, 1_500 * 10**BOND_DECIMALS))
    bond_symbol = next(s for (w, s), r in balances(trader).items() if r["token"].lower() == d.addresses["bond"].lower())
    cash_symbol = next(s for s in symbols if s != bond_symbol)
    minted = wait_for(trader, (wallet, bond_symbol), "1500")
    assert minted["block"] >= int(d.w3.eth.get_block_number()) - 1
    wait_for(trader, (wallet, cash_symbol), "0")
    d.send(d.deployer, d.cash.functions.mint(other_wallet, 70 * 10**CASH_DECIMALS))
    wait_for(other, (other_wallet, cash_symbol), "70")
    assert all(w == wallet for w, _ in balances(trader)), "a member sees only its own wallets"

    # the route reads the table: with the follower stopped, a new transfer is not seen (no balanceOf per request)
    follower = hub_of(world).extra["balances"]
    assert isinstance(follower, BalanceFollower)
    with follower._lock:  # the follower's tick waits; the chain moves
        d.send(d.deployer, d.bond.functions.mint(wallet, 500 * 10**BOND_DECIMALS))
        assert Decimal(balances(trader)[(wallet, bond_symbol)]["balance"]) == 1500
    wait_for(trader, (wallet, bond_symbol), "2000")
