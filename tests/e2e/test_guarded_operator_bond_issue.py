"""The operator's bond issuance asks the chain (the bond's maturity, the chain's clock) before its write
transaction opens: with the write-transaction guard on (gateway.chain.guard) the route answers and the mint
settles. It answered 500 ("chain call inside a database write transaction") while those reads followed the
instrument's lookup in the write session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.db.models import Role
from tests.e2e.chains import BOND_DECIMALS, deploy, start_chain
from tests.e2e.test_trading_chain import settled
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import World
from tests.gateway.market import approve_member, call, custodial_wallet, list_instrument

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[World, Any]]:
    for chain in start_chain("anvil", tmp_path):
        d = deploy(chain)
        for w in chain_world(d, tmp_path):
            yield w, d


def test_bond_issue_reads_the_chain_before_its_write_transaction(world: tuple[World, Any]) -> None:
    w, d = world
    admin = w.user("op", Role.OPERATOR_ADMIN, "admin")
    trader = w.user("a", Role.TRADER, "at")
    wallet = custodial_wallet(trader)
    approve_member(w, "a")
    list_instrument(w, d.addresses["bond"], "bond", BOND_DECIMALS, "DBR")
    before = d.bond.functions.balanceOf(wallet["address"]).call()
    issue = {"token": d.addresses["bond"], "wallet": wallet["address"], "amount": "1000"}
    answer = call(admin, "/v1/operator/bonds/issue", json=issue)
    assert answer.status_code == 202, answer.text
    settled(admin, answer)
    assert d.bond.functions.balanceOf(wallet["address"]).call() == before + 1000 * 10**BOND_DECIMALS
