"""Manufactured payments on py-evm through web3.py: a coupon paid during a repo reaches the seller on the payment
date (GMRA 5), the engine's escrow keeps only the repo's collateral, and the repo still repurchases at its price."""

from __future__ import annotations

import os
from typing import Any

from eth_account import Account
from web3.logs import DISCARD

from contracts.deploy import contract, deploy_bond_token, list_tokens
from scripts.harness.repo_system import BOND_DECIMALS, CASH_DECIMALS, PAR_PRICE_98, YEAR, RepoSystem, build_system

DAY = 86_400
RATE = 25 * 10**15  # 2.5 % a year, paid semi-annually
REPURCHASED = 4
STATUS = 8  # index of `status` in the Repo struct


def coupon_on(units: int) -> int:
    """Reference: units of nominal (10**BOND_DECIMALS per currency unit) × 2.5 % / 2, in cash smallest units."""
    return units * RATE * 10**CASH_DECIMALS // (2 * 10**18 * 10**BOND_DECIMALS)


def events(contract_event: Any, receipt: Any) -> list[Any]:
    return [e["args"] for e in contract_event().process_receipt(receipt, errors=DISCARD)]


def test_coupon_during_a_repo_reaches_the_seller() -> None:
    s: RepoSystem = build_system()
    now = s.now()
    record, pay = now + 2 * DAY, now + 3 * DAY
    bond_addr = deploy_bond_token(
        s.w3,
        s.operator,
        registry=s.addresses["identity_registry"],
        name="Bund 2.5% 2030",
        symbol="DBR30",
        isin="DE0001102606",
        decimals=BOND_DECIMALS,
        coupon_rate=RATE,
        maturity=now + 5 * YEAR,
    )
    list_tokens(s.w3, s.operator, engine=s.engine.address, tokens=[bond_addr])
    bond = contract(s.w3, "BondToken", bond_addr)
    s.send(
        s.operator,
        bond.functions.setCouponSchedule(s.cash.address, 2, [record, record + 180 * DAY], [pay, pay + 180 * DAY]),
    )
    s.send(s.operator, bond.functions.mint(s.seller.address, 2_000_000 * 10**BOND_DECIMALS))
    s.send(s.seller, bond.functions.approve(s.engine.address, 2**256 - 1))
    s.send(s.operator, s.oracle.functions.setPrice(bond_addr, s.cash.address, PAR_PRICE_98))

    agent = Account.from_key(os.urandom(32))  # the bond's paying agent
    s.fund(agent.address)
    s.verify([agent.address], lei="PAYINGAGENT000000003")
    s.send(s.operator, s.cash.functions.mint(agent.address, 10_000_000 * 10**CASH_DECIMALS))
    s.send(agent, s.cash.functions.approve(s.engine.address, 2**256 - 1))

    terms = s.terms(collateralToken=bond_addr, maturity=now + 7 * DAY)
    repo_id = s.open(terms)
    index, record_date, payment_date, units, to_rp = s.engine.functions.couponOwed(repo_id).call()
    assert (index, record_date, payment_date, units, to_rp) == (0, record, pay, terms["collateralAmount"], False)
    amount = int(bond.functions.couponAmount(units).call())
    assert amount == coupon_on(terms["collateralAmount"])

    s.travel(pay)
    seller_cash = s.balances(s.seller.address)[0]
    receipt = s.send(agent, s.engine.functions.payCoupon(repo_id, 0))
    [paid] = events(s.engine.events.CouponManufactured, receipt)
    assert (paid["repoId"], paid["bond"], paid["index"], paid["to"], paid["amount"]) == (
        repo_id,
        bond_addr,
        0,
        s.seller.address,
        amount,
    )
    assert paid["appliedToRepurchasePrice"] is False
    assert s.balances(s.seller.address)[0] == seller_cash + amount
    assert int(s.cash.functions.balanceOf(s.engine.address).call()) == 0  # passed through, nothing kept
    assert int(bond.functions.balanceOf(s.engine.address).call()) == terms["collateralAmount"]
    assert s.engine.functions.couponOwed(repo_id).call()[0] == 1

    s.travel(terms["maturity"])
    s.send(s.seller, s.engine.functions.repurchase(repo_id))
    assert int(s.engine.functions.getRepo(repo_id).call()[STATUS]) == REPURCHASED
    assert int(bond.functions.balanceOf(s.engine.address).call()) == 0
