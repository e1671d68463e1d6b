#!/usr/bin/env python3
"""Gas used by every repo lifecycle step, measured on in-process py-evm through web3.py.

python scripts/gas_report.py          # a table
python scripts/gas_report.py --json   # {"step": gas, ...}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account

from contracts import eip712
from contracts.deploy import contract, deploy_bond_token, list_tokens
from scripts.harness.repo_system import BOND_DECIMALS, PAR_PRICE_98, build_system


def measure() -> dict[str, int]:
    s = build_system()
    e = s.engine

    # Term repo: open, margin call, cure by collateral and by cash, excess back, substitution, roll, re-rate.
    terms = s.terms(maturity=s.now() + 30 * 86_400)
    rid = s.open(terms, step="open (EOA signatures)")
    s.send(s.operator, s.oracle.functions.setPrice(s.bond.address, s.cash.address, PAR_PRICE_98 * 90 // 100))
    s.send(s.keeper, e.functions.callMargin(rid), "callMargin")
    called = int(e.functions.getRepo(rid).call()[20])
    s.send(s.seller, e.functions.postMargin(rid, 10_000 * 10**BOND_DECIMALS, 0), "postMargin (collateral)")
    s.send(s.seller, e.functions.postMargin(rid, 0, called), "postMargin (cash, cures the call)")
    s.send(s.operator, s.oracle.functions.setPrice(s.bond.address, s.cash.address, PAR_PRICE_98))
    s.send(s.seller, e.functions.withdrawExcess(rid, 10_000 * 10**BOND_DECIMALS, 0), "withdrawExcess")

    bond2 = deploy_bond_token(
        s.w3,
        s.operator,
        registry=s.addresses["identity_registry"],
        name="OAT 2034",
        symbol="OAT34",
        isin="FR0013154044",
        decimals=BOND_DECIMALS,
        coupon_rate=10**16,
        maturity=s.now() + 3650 * 86_400,
    )
    b2 = contract(s.w3, "BondToken", bond2)
    s.send(s.operator, b2.functions.mint(s.seller.address, 3_000_000 * 10**BOND_DECIMALS))
    s.send(s.seller, b2.functions.approve(e.address, 2**256 - 1))
    s.send(s.operator, s.oracle.functions.setCurrency(bond2, s.cash.address))
    s.send(s.operator, s.oracle.functions.setPrice(bond2, s.cash.address, PAR_PRICE_98))
    # Listed in the engine's token table by its admin, as on the oracle: a repo may name only listed tokens.
    list_tokens(s.w3, s.operator, engine=e.address, tokens=[bond2])
    amount2 = 1_100_000 * 10**BOND_DECIMALS
    sub = {
        "repoId": rid,
        "newCollateralToken": bond2,
        "newCollateralAmount": amount2,
        "nonce": 900,
        "deadline": s.now() + 600,
    }
    s.send(
        s.seller,
        e.functions.substitute(rid, bond2, amount2, s.sign(s.buyer, "Substitution", sub), 900, sub["deadline"]),
        "substitute",
    )
    for kind, nonce, name, maturity, rate in (
        (eip712.AMEND_ROLL, 901, "amend (roll)", terms["maturity"] + 7 * 86_400, 0),
        (eip712.AMEND_RERATE, 902, "amend (re-rate)", 0, 40 * 10**15),
    ):
        amend = {
            "repoId": rid,
            "kind": kind,
            "newMaturity": maturity,
            "newRate": rate,
            "nonce": nonce,
            "deadline": s.now() + 600,
        }
        s.send(
            s.keeper,
            e.functions.amend(
                tuple(amend.values()), s.sign(s.seller, "Amendment", amend), s.sign(s.buyer, "Amendment", amend)
            ),
            name,
        )
    early = {"repoId": rid, "nonce": 903, "deadline": s.now() + 600}
    s.send(
        s.seller,
        e.functions.repurchaseEarly(rid, s.sign(s.buyer, "EarlyRepurchase", early), 903, early["deadline"]),
        "repurchaseEarly",
    )

    # Open repo: position transfer, termination with notice, repurchase.
    # A second open by the same parties: the one-time first writes (repo counter, nonce words, the buyer's first
    # position, the engine's first balance of the bond) are behind us, as on a running network.
    rid = s.open(s.terms(maturity=0, noticePeriod=86_400), step="open (steady state: parties and bond seen before)")
    other_fund = Account.create()
    s.fund(other_fund.address)
    s.verify([other_fund.address], lei="OTHERFUND00000000004")
    s.send(
        s.buyer,
        s.position.functions.transferFrom(s.buyer.address, other_fund.address, rid),
        "position transfer (ERC-721)",
    )
    s.send(s.seller, e.functions.terminate(rid), "terminate (open repo notice)")
    s.travel(s.now() + 86_400)
    s.send(s.seller, e.functions.repurchase(rid), "repurchase")

    # Default at maturity and close-out. This open draws its nonce as the gateway does (128 random bits: a nonce word
    # neither party has used), so both nonce words are fresh slots.
    terms = s.terms(nonce=0x5EED_0000_0000_0000_0000_0000_0000_0017)
    rid = s.open(terms, step="open (steady state, fresh nonce words as the gateway draws them)")
    s.travel(terms["maturity"] + terms["gracePeriod"] + 1)
    s.send(s.keeper, e.functions.declareDefault(rid), "declareDefault")
    s.send(s.buyer, e.functions.closeOut(rid), "closeOut")

    # A coupon during a repo (GMRA 5), paid by the paying agent (the operator here) and passed to the seller.
    now = s.now()
    bond3 = deploy_bond_token(
        s.w3,
        s.operator,
        registry=s.addresses["identity_registry"],
        name="Bund 2030",
        symbol="DBR30",
        isin="DE0001102606",
        decimals=BOND_DECIMALS,
        coupon_rate=25 * 10**15,
        maturity=now + 3650 * 86_400,
    )
    b3 = contract(s.w3, "BondToken", bond3)
    list_tokens(s.w3, s.operator, engine=e.address, tokens=[bond3])
    s.send(s.operator, b3.functions.setCouponSchedule(s.cash.address, 2, [now + 86_400], [now + 2 * 86_400]))
    s.send(s.operator, b3.functions.mint(s.seller.address, 2_000_000 * 10**BOND_DECIMALS))
    s.send(s.seller, b3.functions.approve(e.address, 2**256 - 1))
    s.send(s.operator, s.oracle.functions.setPrice(bond3, s.cash.address, PAR_PRICE_98))
    agent = Account.create()
    s.fund(agent.address)
    s.verify([agent.address], lei="PAYINGAGENT000000005")
    s.send(s.operator, s.cash.functions.mint(agent.address, 10**12))
    s.send(agent, s.cash.functions.approve(e.address, 2**256 - 1))
    rid = s.open(s.terms(collateralToken=bond3, maturity=now + 7 * 86_400))
    s.travel(now + 2 * 86_400)
    s.send(agent, e.functions.payCoupon(rid, 0), "payCoupon (to the seller)")
    return s.gas


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    gas = measure()
    if args.json:
        print(json.dumps(gas, indent=2))
    else:
        width = max(len(k) for k in gas)
        print(f"{'step':<{width}}  gas used")
        for step, used in gas.items():
            print(f"{step:<{width}}  {used:>8,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
