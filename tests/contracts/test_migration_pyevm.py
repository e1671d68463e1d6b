"""A live repo moves to a successor engine on py-evm through web3.py (contracts/UPGRADES.md): the admin names the
successor, seller and holder consent, the escrow and the stored repo move, and the repo is repurchased there."""

from __future__ import annotations

import pytest

from contracts.deploy import contract, deploy_successor_engine
from contracts.exceptions import DeploymentFailed
from scripts.harness.repo_system import RepoSystem, build_system

OPEN, REPURCHASED, MIGRATED = 1, 4, 6
STATUS = 8  # index of `status` in the Repo struct
CASH_MARGIN = 18


@pytest.fixture
def system() -> RepoSystem:
    return build_system()


def test_a_live_repo_moves_with_both_consents_and_is_repurchased_in_the_successor(system: RepoSystem) -> None:
    old = system.engine
    terms = system.terms()
    repo_id = system.open(terms)
    system.send(system.seller, old.functions.postMargin(repo_id, 0, 25_000 * 10**6))
    system.travel(system.now() + 5 * 86_400)
    before = old.functions.getRepo(repo_id).call()
    price_at_maturity = old.functions.repurchasePrice(repo_id, terms["maturity"]).call()

    new_address = deploy_successor_engine(
        system.w3,
        system.operator,
        registry=system.addresses["identity_registry"],
        oracle=system.addresses["price_oracle"],
        predecessor=old.address,
    )
    new = contract(system.w3, "RepoEngine", new_address)
    old_migration = contract(system.w3, "IRepoMigration", old.address)
    consent = old_migration.functions.consentMigration(repo_id, new_address)
    with pytest.raises(DeploymentFailed):  # no successor named yet
        system.send(system.seller, consent)
    system.send(system.operator, old_migration.functions.setSuccessor(new_address))
    with pytest.raises(DeploymentFailed):  # a keeper is neither seller nor holder
        system.send(system.keeper, consent)

    system.send(system.seller, consent)
    assert old.functions.getRepo(repo_id).call()[STATUS] == OPEN  # one consent moves nothing
    receipt = system.send(system.buyer, consent)
    migrated = old_migration.events.RepoMigrated().process_receipt(receipt)[0]["args"]
    new_id = migrated["newRepoId"]

    assert old.functions.getRepo(repo_id).call()[STATUS] == MIGRATED
    assert new.functions.getRepo(new_id).call() == before
    assert new.functions.repurchasePrice(new_id, terms["maturity"]).call() == price_at_maturity
    new_position = contract(system.w3, "RepoPosition", new.functions.position().call())
    assert new_position.functions.ownerOf(new_id).call() == system.buyer.address
    assert system.balances(old.address) == (0, 0)
    assert system.balances(new_address) == (before[CASH_MARGIN], terms["collateralAmount"])

    system.send(system.seller, system.cash.functions.approve(new_address, 2**256 - 1))
    system.travel(terms["maturity"])
    buyer_cash = system.balances(system.buyer.address)[0]
    system.send(system.seller, new.functions.repurchase(new_id))
    assert new.functions.getRepo(new_id).call()[STATUS] == REPURCHASED
    assert system.balances(system.buyer.address)[0] - buyer_cash == price_at_maturity  # margin applied first
    assert system.balances(new_address) == (0, 0)
