"""Nobody trapped, on py-evm through web3.py: a frozen seller's close-out completes and its excess becomes a claim
it collects once unfrozen; a cash-token pause across maturity and grace never creates a default."""

from __future__ import annotations

from typing import Any

import pytest
from web3.logs import DISCARD

from contracts.exceptions import DeploymentFailed
from scripts.harness.repo_system import PAR_PRICE_98, RepoSystem, build_system

DEFAULTED, REPURCHASED, CLOSED_OUT = 3, 4, 5
STATUS = 8  # index of `status` in the Repo struct


@pytest.fixture
def system() -> RepoSystem:
    return build_system()


def status(system: RepoSystem, repo_id: int) -> int:
    return int(system.engine.functions.getRepo(repo_id).call()[STATUS])


def events(contract_event: Any, receipt: Any) -> list[Any]:
    return [e["args"] for e in contract_event().process_receipt(receipt, errors=DISCARD)]


def test_frozen_seller_close_out_completes_and_the_excess_is_claimable(system: RepoSystem) -> None:
    terms = system.terms()
    repo_id = system.open(terms)
    system.travel(terms["maturity"] + terms["gracePeriod"] + 1)
    system.send(system.keeper, system.engine.functions.declareDefault(repo_id))
    system.send(system.operator, system.bond.functions.freeze(system.seller.address))  # sanctions, say

    receipt = system.send(system.buyer, system.engine.functions.closeOut(repo_id))
    closed = events(system.engine.events.RepoClosedOut, receipt)[0]
    owed = closed["owed"]
    to_holder = -(-owed * 10**18 // PAR_PRICE_98)
    excess = terms["collateralAmount"] - to_holder
    assert closed["collateralToHolder"] == to_holder and closed["collateralToSeller"] == excess
    credited = events(system.engine.events.ClaimCredited, receipt)
    assert [(c["party"], c["token"], c["repoId"], c["amount"]) for c in credited] == [
        (system.seller.address, system.bond.address, repo_id, excess)
    ]
    assert status(system, repo_id) == CLOSED_OUT
    claim_of = system.engine.functions.claimOf(system.seller.address, system.bond.address)
    assert claim_of.call() == excess
    assert system.balances(system.engine.address) == (0, excess)  # escrow == claims once nothing is live

    bonds_before = system.balances(system.seller.address)[1]
    with pytest.raises(DeploymentFailed):  # still frozen: the token refuses, nothing changes
        system.send(system.seller, system.engine.functions.claim(system.bond.address))
    assert claim_of.call() == excess

    system.send(system.operator, system.bond.functions.unfreeze(system.seller.address))
    system.send(system.seller, system.engine.functions.claim(system.bond.address))
    assert system.balances(system.seller.address)[1] == bonds_before + excess
    assert claim_of.call() == 0
    assert system.balances(system.engine.address) == (0, 0)


def test_cash_pause_over_maturity_never_creates_a_default(system: RepoSystem) -> None:
    terms = system.terms()
    repo_id = system.open(terms)
    system.travel(terms["maturity"] - 3_600)
    system.send(system.operator, system.cash.functions.pause())
    system.travel(terms["maturity"] + terms["gracePeriod"] + 7_200)
    with pytest.raises(DeploymentFailed):  # no default while the cash token is paused
        system.send(system.keeper, system.engine.functions.declareDefault(repo_id))
    system.send(system.operator, system.cash.functions.unpause())
    with pytest.raises(DeploymentFailed):  # the grace clock stopped during the pause
        system.send(system.keeper, system.engine.functions.declareDefault(repo_id))
    assert status(system, repo_id) != DEFAULTED

    system.send(system.seller, system.engine.functions.repurchase(repo_id))
    assert status(system, repo_id) == REPURCHASED
