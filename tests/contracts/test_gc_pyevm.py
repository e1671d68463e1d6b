"""GC order-book fills on py-evm through web3.py: orders signed in Python (contracts.eip712) and filled with the
collateral contracts.gc computes open repos on the engine; Python's hashes and collateral agree with the engine's."""

from __future__ import annotations

import pytest

from contracts import eip712, gc
from contracts.artifacts import load_artifact
from contracts.exceptions import DeploymentFailed
from scripts.harness.repo_system import RepoSystem, build_system

CASH = 10**6  # the harness's cash token has 6 decimals


@pytest.fixture
def system() -> RepoSystem:
    return build_system()


def _repo(system: RepoSystem, repo_id: int) -> dict[str, object]:
    """``getRepo`` by field name."""
    outputs = next(e for e in load_artifact("RepoEngine").abi if e.get("name") == "getRepo")["outputs"][0]
    names = [component["name"] for component in outputs["components"]]
    return dict(zip(names, system.engine.functions.getRepo(repo_id).call(), strict=True))


def _basket(system: RepoSystem) -> gc.GcBasket:
    return gc.GcBasket(
        day_count_basis=360,
        min_transfer_amount=1_000 * CASH,
        margin_cure_period=86_400,
        grace_period=86_400,
        bonds=(gc.GcBond(system.bond.address, 250),),
    )


def _order(system: RepoSystem, *, maker: str, side: int, rate: int, basket: gc.GcBasket) -> eip712.GcOrder:
    now = system.now()
    return eip712.GcOrder(
        maker=maker,
        matcher=system.keeper.address,
        side=side,
        cashToken=system.cash.address,
        basket=basket.hash(),
        start=now,
        maturity=now + 86_400,
        rate=rate,
        size=10_000_000 * CASH,
        minFill=1_000_000 * CASH,
        nonce=system.next_nonce(),
        deadline=now + 8 * 3_600,
    )


def test_python_hashes_and_collateral_agree_with_the_engine(system: RepoSystem) -> None:
    basket = _basket(system)
    engine = system.engine.functions
    assert engine.gcBasketHash(basket.as_tuple()).call() == basket.hash()
    order = _order(system, maker=system.buyer.address, side=eip712.GC_LEND, rate=3 * 10**16, basket=basket)
    struct_hash = engine.gcOrderHash(gc.order_tuple(order)).call()
    digest = eip712.digest("GcOrder", dict(order), chain_id=system.chain_id(), engine=system.engine.address)
    assert engine.hashTypedData(struct_hash).call() == digest

    price, _ = system.oracle.functions.getPrice(system.bond.address, system.cash.address).call()
    for cash in (1, 999_999, 1_000_000 * CASH, 7_654_321 * CASH + 17):
        least = gc.least_collateral(cash, price, 250)
        assert gc.adjusted_value(least, price, 250) >= cash > gc.adjusted_value(least - 1, price, 250)


def test_two_signed_orders_fill_twice_and_open_two_repos(system: RepoSystem) -> None:
    basket = _basket(system)
    lend = _order(system, maker=system.buyer.address, side=eip712.GC_LEND, rate=3 * 10**16, basket=basket)
    borrow = _order(system, maker=system.seller.address, side=eip712.GC_BORROW, rate=4 * 10**16, basket=basket)
    lend_sig = system.sign(system.buyer, "GcOrder", dict(lend))
    borrow_sig = system.sign(system.seller, "GcOrder", dict(borrow))
    price, _ = system.oracle.functions.getPrice(system.bond.address, system.cash.address).call()

    repo_ids = []
    for amount, rate in ((6_000_000 * CASH, 35 * 10**15), (4_000_000 * CASH, 3 * 10**16)):
        fill = gc.GcFill(amount=amount, rate=rate, bond=0, collateral_amount=gc.least_collateral(amount, price, 250))
        settle = system.engine.functions.settleGcFill(*gc.settle_args(lend, lend_sig, borrow, borrow_sig, basket, fill))
        with pytest.raises(DeploymentFailed):  # only the matcher both orders name
            system.send(system.seller, settle)
        receipt = system.send(system.keeper, settle, "settleGcFill")
        settled = system.engine.events.GcFillSettled().process_receipt(receipt)[0]["args"]
        repo = _repo(system, settled["repoId"])
        assert (repo["seller"], repo["buyer"]) == (system.seller.address, system.buyer.address)
        assert (repo["purchasePrice"], repo["rate"], repo["maturity"]) == (amount, rate, lend["maturity"])
        assert (repo["collateralToken"], repo["collateralAmount"]) == (system.bond.address, fill.collateral_amount)
        assert repo["haircutBps"] == 250
        repo_ids.append(settled["repoId"])
    assert repo_ids == [1, 2]
    lend_hash = system.engine.functions.gcOrderHash(gc.order_tuple(lend)).call()
    assert system.engine.functions.gcFilled(lend_hash).call() == lend["size"]

    # Filled in full: one more fill is refused.
    amount = 1_000_000 * CASH
    fill = gc.GcFill(amount=amount, rate=3 * 10**16, bond=0, collateral_amount=gc.least_collateral(amount, price, 250))
    with pytest.raises(DeploymentFailed):
        system.send(
            system.keeper,
            system.engine.functions.settleGcFill(*gc.settle_args(lend, lend_sig, borrow, borrow_sig, basket, fill)),
        )
    assert system.engine.functions.repoCount().call() == 2
