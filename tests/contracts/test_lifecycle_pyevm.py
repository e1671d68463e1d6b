"""The whole repo lifecycle on py-evm through web3.py: deploy_system, both signing paths, margin, substitution,
amendments, repurchase, default and close-out, and accrual against a Decimal reference."""

from __future__ import annotations

import random
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Any

import pytest
from eth_account import Account
from eth_tester.exceptions import TransactionFailed
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from contracts import eip712
from contracts.exceptions import DeploymentFailed
from scripts.harness.repo_system import (
    BOND_DECIMALS,
    CASH_DECIMALS,
    PAR_PRICE_98,
    RepoSystem,
    build_system,
)
from tests.contracts.smart_wallet import deploy_smart_wallet

OPEN, MARGIN_CALLED, DEFAULTED, REPURCHASED, CLOSED_OUT = 1, 2, 3, 4, 5
STATUS = 8  # index of `status` in the Repo struct
COLLATERAL_AMOUNT, CASH_MARGIN = 17, 18


@pytest.fixture
def system() -> RepoSystem:
    return build_system()


def reference_rp(pp: int, rate: int, basis: int, seconds: int) -> int:
    """GMRA price differential with Decimal: PP + PD rounded toward +infinity (the cash lender's favour)."""
    with localcontext() as ctx:
        ctx.prec = 100
        pd = Decimal(pp) * Decimal(rate) * Decimal(seconds) / (Decimal(basis) * 86_400 * Decimal(10**18))
        return max(0, pp + int(pd.to_integral_value(rounding=ROUND_CEILING)))


def status(system: RepoSystem, repo_id: int) -> int:
    return int(system.engine.functions.getRepo(repo_id).call()[STATUS])


def event(contract_event: Any, receipt: Any) -> Any:
    return contract_event().process_receipt(receipt, errors=DISCARD)[0]["args"]


def test_python_eip712_digests_equal_the_engines(system: RepoSystem) -> None:
    chain, engine = system.chain_id(), system.engine.address
    terms = system.terms(rate=-12 * 10**15, maturity=0, noticePeriod=86_400)
    struct_hash = system.engine.functions.hashTerms(system.terms_tuple(terms)).call()
    on_chain = system.engine.functions.hashTypedData(struct_hash)
    assert on_chain.call() == eip712.digest("RepoTerms", dict(terms), chain_id=chain, engine=engine)

    early = {"repoId": 7, "nonce": 9, "deadline": 1_900_000_000}
    struct = system.engine.functions.hashEarlyRepurchase(7, 9, 1_900_000_000).call()
    assert system.engine.functions.hashTypedData(struct).call() == eip712.digest(
        "EarlyRepurchase", early, chain_id=chain, engine=engine
    )
    sub = {"repoId": 7, "newCollateralToken": system.bond.address, "newCollateralAmount": 5, "nonce": 1, "deadline": 2}
    struct = system.engine.functions.hashSubstitution(7, system.bond.address, 5, 1, 2).call()
    assert system.engine.functions.hashTypedData(struct).call() == eip712.digest(
        "Substitution", sub, chain_id=chain, engine=engine
    )
    amend = {"repoId": 7, "kind": 1, "newMaturity": 0, "newRate": -5, "nonce": 3, "deadline": 4}
    struct = system.engine.functions.hashAmendment(tuple(amend.values())).call()
    assert system.engine.functions.hashTypedData(struct).call() == eip712.digest(
        "Amendment", amend, chain_id=chain, engine=engine
    )
    # The domain binds the chain: the same terms on another chain id give another digest.
    assert eip712.digest("RepoTerms", dict(terms), chain_id=chain + 1, engine=engine) != on_chain.call()


def test_open_then_repurchase_at_maturity_moves_exact_amounts(system: RepoSystem) -> None:
    seller, buyer, engine = system.seller.address, system.buyer.address, system.engine.address
    seller_before, buyer_before = system.balances(seller), system.balances(buyer)
    supply_before = (system.cash.functions.totalSupply().call(), system.bond.functions.totalSupply().call())
    terms = system.terms()

    repo_id = system.open(terms)

    pp, collateral = terms["purchasePrice"], terms["collateralAmount"]
    assert system.balances(seller) == (seller_before[0] + pp, seller_before[1] - collateral)
    assert system.balances(buyer) == (buyer_before[0] - pp, buyer_before[1])
    assert system.balances(engine) == (0, collateral)
    assert system.position.functions.ownerOf(repo_id).call() == buyer
    assert system.engine.functions.nonceUsed(seller, terms["nonce"]).call()
    assert system.engine.functions.nonceUsed(buyer, terms["nonce"]).call()

    opened_at = system.engine.functions.getRepo(repo_id).call()[9]
    system.travel(terms["maturity"] + 60)
    rp = system.engine.functions.repurchasePrice(repo_id, terms["maturity"] + 60).call()
    assert rp == reference_rp(pp, terms["rate"], 360, terms["maturity"] - opened_at)  # PD stops at maturity

    receipt = system.send(system.seller, system.engine.functions.repurchase(repo_id))
    assert event(system.engine.events.RepoRepurchased, receipt)["repurchasePrice"] == rp
    assert system.balances(buyer) == (buyer_before[0] - pp + rp, buyer_before[1])
    assert system.balances(seller) == (seller_before[0] + pp - rp, seller_before[1])
    assert system.balances(engine) == (0, 0)
    assert status(system, repo_id) == REPURCHASED
    assert system.position.functions.balanceOf(buyer).call() == 0
    with pytest.raises((ContractLogicError, TransactionFailed)):
        system.position.functions.ownerOf(repo_id).call()
    supply_after = (system.cash.functions.totalSupply().call(), system.bond.functions.totalSupply().call())
    assert supply_after == supply_before


def test_replayed_terms_and_foreign_signatures_are_refused(system: RepoSystem) -> None:
    terms = system.terms()
    system.open(terms)
    with pytest.raises(DeploymentFailed, match="RepoNonceUsed"):
        system.open(terms)
    stranger = Account.create()
    with pytest.raises(DeploymentFailed, match="RepoInvalidSignature"):
        system.open(system.terms(), buyer_key=stranger)


def test_erc1271_smart_wallet_signs_and_repurchases(system: RepoSystem) -> None:
    owner = Account.create()
    system.fund(owner.address)
    wallet = deploy_smart_wallet(system, owner)
    system.verify([wallet.address], lei="SMARTWALLETBANK00003")
    system.send(system.operator, system.bond.functions.mint(wallet.address, 2_000_000 * 10**BOND_DECIMALS))
    system.send(system.operator, system.cash.functions.mint(wallet.address, 100_000 * 10**CASH_DECIMALS))
    for token in (system.bond, system.cash):
        approve = token.functions.approve(system.engine.address, 2**256 - 1)._encode_transaction_data()
        system.send(owner, wallet.functions.execute(token.address, approve))

    terms = system.terms(seller=wallet.address, maturity=0, noticePeriod=86_400)
    with pytest.raises(DeploymentFailed):  # the wallet's owner key, not another key, speaks for it
        system.open(terms, seller_key=Account.create())
    repo_id = system.open(terms, seller_key=owner)
    assert system.balances(wallet.address)[0] == 100_000 * 10**CASH_DECIMALS + terms["purchasePrice"]

    system.travel(system.now() + 3 * 86_400)
    call = system.engine.functions.repurchase(repo_id)._encode_transaction_data()
    receipt = system.send(owner, wallet.functions.execute(system.engine.address, call))
    paid = event(system.engine.events.RepoRepurchased, receipt)["repurchasePrice"]
    assert paid > terms["purchasePrice"]  # an open repo accrues until it is repurchased
    assert system.balances(wallet.address)[1] == 2_000_000 * 10**BOND_DECIMALS
    assert status(system, repo_id) == REPURCHASED


def test_margin_call_cured_substitution_rerate_and_early_repurchase(system: RepoSystem) -> None:
    terms = system.terms(maturity=system.now() + 30 * 86_400)
    repo_id = system.open(terms)

    # The bond falls 10 %: exposure passes the threshold and anyone may call margin.
    system.send(
        system.operator,
        system.oracle.functions.setPrice(system.bond.address, system.cash.address, PAR_PRICE_98 * 90 // 100),
    )
    assert system.engine.functions.exposure(repo_id).call() > terms["minTransferAmount"]
    receipt = system.send(system.keeper, system.engine.functions.callMargin(repo_id))
    called = event(system.engine.events.MarginCalled, receipt)["amount"]
    assert status(system, repo_id) == MARGIN_CALLED

    # Cured with cash margin equal to the call.
    system.send(system.seller, system.engine.functions.postMargin(repo_id, 0, called))
    assert status(system, repo_id) == OPEN
    assert system.engine.functions.getRepo(repo_id).call()[CASH_MARGIN] == called
    # Only accrual since the call remains: far below the threshold, so no new call is possible.
    assert system.engine.functions.exposure(repo_id).call() < terms["minTransferAmount"]
    with pytest.raises(DeploymentFailed, match="RepoExposureBelowThreshold"):
        system.send(system.keeper, system.engine.functions.callMargin(repo_id))

    # Substitution: a second bond replaces the first, with the holder's signed consent.
    from contracts.deploy import contract, deploy_bond_token, list_tokens

    bond2_addr = deploy_bond_token(
        system.w3,
        system.operator,
        registry=system.addresses["identity_registry"],
        name="OAT 2034",
        symbol="OAT34",
        isin="FR0013154044",
        decimals=BOND_DECIMALS,
        coupon_rate=10**16,
        maturity=system.now() + 3650 * 86_400,
    )
    list_tokens(system.w3, system.operator, engine=system.engine.address, tokens=[bond2_addr])
    bond2 = contract(system.w3, "BondToken", bond2_addr)
    system.send(system.operator, bond2.functions.mint(system.seller.address, 3_000_000 * 10**BOND_DECIMALS))
    system.send(system.seller, bond2.functions.approve(system.engine.address, 2**256 - 1))
    system.send(system.operator, system.oracle.functions.setPrice(bond2_addr, system.cash.address, PAR_PRICE_98))
    amount2 = 1_100_000 * 10**BOND_DECIMALS
    sub = {
        "repoId": repo_id,
        "newCollateralToken": bond2_addr,
        "newCollateralAmount": amount2,
        "nonce": 77,
        "deadline": system.now() + 600,
    }
    sig = system.sign(system.buyer, "Substitution", sub)
    bond1_before = system.balances(system.seller.address)[1]
    system.send(
        system.seller, system.engine.functions.substitute(repo_id, bond2_addr, amount2, sig, 77, sub["deadline"])
    )
    assert system.balances(system.seller.address)[1] == bond1_before + terms["collateralAmount"]
    assert bond2.functions.balanceOf(system.engine.address).call() == amount2
    assert system.engine.functions.getRepo(repo_id).call()[COLLATERAL_AMOUNT] == amount2

    # Re-rate after 10 days, signed by both: PD so far is crystallized at the old rate.
    system.travel(system.now() + 10 * 86_400)
    amend = {
        "repoId": repo_id,
        "kind": eip712.AMEND_RERATE,
        "newMaturity": 0,
        "newRate": 50 * 10**15,
        "nonce": 78,
        "deadline": system.now() + 600,
    }
    receipt = system.send(
        system.keeper,
        system.engine.functions.amend(
            tuple(amend.values()),
            system.sign(system.seller, "Amendment", amend),
            system.sign(system.buyer, "Amendment", amend),
        ),
    )
    rerate = event(system.engine.events.RepoRerated, receipt)
    repo = system.engine.functions.getRepo(repo_id).call()
    opened_at, period_start = repo[9], repo[14]
    assert (
        rerate["crystallizedPD"]
        == reference_rp(terms["purchasePrice"], terms["rate"], 360, period_start - opened_at) - terms["purchasePrice"]
    )

    # Early repurchase of the term repo with the holder's consent; cash margin is applied against RP.
    at = system.now() + 5 * 86_400
    system.travel(at)
    early = {"repoId": repo_id, "nonce": 79, "deadline": at + 600}
    sig = system.sign(system.buyer, "EarlyRepurchase", early)
    buyer_cash = system.balances(system.buyer.address)[0]
    receipt = system.send(system.seller, system.engine.functions.repurchaseEarly(repo_id, sig, 79, early["deadline"]))
    args = event(system.engine.events.RepoRepurchased, receipt)
    assert args["early"] is True
    assert system.balances(system.buyer.address)[0] == buyer_cash + args["repurchasePrice"]
    assert args["cashMarginApplied"] == called
    assert system.balances(system.engine.address) == (0, 0)


def test_uncured_margin_call_defaults_and_close_out_records_shortfall(system: RepoSystem) -> None:
    terms = system.terms()
    repo_id = system.open(terms)
    system.send(
        system.operator,
        system.oracle.functions.setPrice(system.bond.address, system.cash.address, PAR_PRICE_98 * 60 // 100),
    )
    system.send(system.keeper, system.engine.functions.callMargin(repo_id))
    with pytest.raises(DeploymentFailed):  # the cure period has not passed
        system.send(system.keeper, system.engine.functions.declareDefault(repo_id))

    system.travel(system.now() + terms["marginCurePeriod"] + 10)
    system.send(system.keeper, system.engine.functions.declareDefault(repo_id))
    assert status(system, repo_id) == DEFAULTED
    with pytest.raises(DeploymentFailed):  # only the position holder closes out
        system.send(system.seller, system.engine.functions.closeOut(repo_id))

    buyer_bonds = system.balances(system.buyer.address)[1]
    receipt = system.send(system.buyer, system.engine.functions.closeOut(repo_id))
    closed = event(system.engine.events.RepoClosedOut, receipt)
    shortfall = event(system.engine.events.RepoShortfallRecorded, receipt)["amount"]
    value = system.oracle.functions.valueOf(system.bond.address, system.cash.address, terms["collateralAmount"]).call()
    assert closed["collateralToHolder"] == terms["collateralAmount"]
    assert closed["collateralToSeller"] == 0
    assert shortfall == closed["owed"] - value
    assert system.engine.functions.shortfallOf(repo_id).call() == shortfall
    assert system.balances(system.buyer.address)[1] == buyer_bonds + terms["collateralAmount"]
    assert status(system, repo_id) == CLOSED_OUT


def test_unpaid_at_maturity_defaults_and_close_out_returns_the_excess(system: RepoSystem) -> None:
    terms = system.terms()
    repo_id = system.open(terms)
    system.travel(terms["maturity"] + terms["gracePeriod"] + 1)
    system.send(system.keeper, system.engine.functions.declareDefault(repo_id))
    seller_bonds = system.balances(system.seller.address)[1]

    receipt = system.send(system.buyer, system.engine.functions.closeOut(repo_id))
    closed = event(system.engine.events.RepoClosedOut, receipt)
    owed = closed["owed"]
    to_holder = -(-owed * 10**18 // PAR_PRICE_98)  # collateral worth what is owed, rounded up
    assert closed["collateralToHolder"] == to_holder
    assert closed["collateralToSeller"] == terms["collateralAmount"] - to_holder
    assert system.balances(system.seller.address)[1] == seller_bonds + terms["collateralAmount"] - to_holder
    assert system.engine.functions.shortfallOf(repo_id).call() == 0


def test_accrual_matches_decimal_reference_for_random_terms(system: RepoSystem) -> None:
    rng = random.Random(20261122)
    cases = 0
    for _ in range(6):
        pp = rng.randint(1, 10**9) * 10**CASH_DECIMALS + rng.randint(0, 10**CASH_DECIMALS - 1)
        rate = rng.randint(-2 * 10**17, 2 * 10**17)
        basis = rng.choice([360, 365])
        maturity = rng.choice([0, system.now() + rng.randint(1, 400) * 86_400 + rng.randint(0, 86_399)])
        collateral = pp * 2 * 10**18 // PAR_PRICE_98 + 1
        system.send(system.operator, system.cash.functions.mint(system.buyer.address, pp))
        system.send(system.operator, system.bond.functions.mint(system.seller.address, collateral))
        terms = system.terms(
            purchasePrice=pp,
            rate=rate,
            dayCountBasis=basis,
            maturity=maturity,
            noticePeriod=86_400 if maturity == 0 else 0,
            collateralAmount=collateral,
        )
        repo_id = system.open(terms)
        opened_at = system.engine.functions.getRepo(repo_id).call()[9]
        for _ in range(50):
            at = opened_at + rng.randint(0, 800 * 86_400)
            seconds = (min(at, maturity) if maturity else at) - opened_at
            rp = system.engine.functions.repurchasePrice(repo_id, at).call()
            assert rp == reference_rp(pp, rate, basis, seconds), (pp, rate, basis, seconds)
            cases += 1
    assert cases == 300
