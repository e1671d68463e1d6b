"""A deployed RepoNet system on in-process py-evm (eth-tester), driven through web3.py like any client.

Shared by the lifecycle tests and ``scripts/gas_report.py`` (here, since scripts never import tests): two verified
members (a bank selling collateral for cash, a fund lending cash), a EUR deposit token, a government bond, an oracle
price, and helpers to sign and open repos.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3
from web3.logs import DISCARD
from web3.types import TxReceipt

from contracts import eip712
from contracts.deploy import (
    contract,
    deploy_bond_token,
    deploy_cash_token,
    deploy_system,
    list_tokens,
    set_currency,
    transact,
)

ROOT = Path(__file__).resolve().parents[2]
CASH_DECIMALS = 6
BOND_DECIMALS = 2
# 1 bond smallest unit (0.01 EUR nominal) at 98% of par = 0.0098 EUR = 9,800 cash smallest units.
PAR_PRICE_98 = 9_800 * 10**18
YEAR = 365 * 86_400


@dataclass
class RepoSystem:
    """One deployment plus its actors; every call goes through web3.py and signed raw transactions."""

    tester: EthereumTester
    w3: Web3
    operator: LocalAccount
    seller: LocalAccount
    buyer: LocalAccount
    keeper: LocalAccount
    addresses: dict[str, str]
    cash: Any
    bond: Any
    engine: Any
    registry: Any
    oracle: Any
    position: Any
    gas: dict[str, int] = field(default_factory=dict)
    _nonce: int = 0

    # ------------------------------------------------------------------ plumbing
    def send(self, account: LocalAccount, fn: Any, step: str = "") -> TxReceipt:
        receipt = transact(self.w3, account, fn, step)
        if step:
            self.gas[step] = int(receipt["gasUsed"])
        return receipt

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def travel(self, timestamp: int) -> None:
        """Mine a block at ``timestamp``; the next transaction lands just after it. The feeder then re-posts the
        bond's price, as it would every day, so the oracle is not stale."""
        self.tester.time_travel(timestamp)
        bond, cash = self.bond.address, self.cash.address
        price, _ = self.oracle.functions.getPrice(bond, cash).call(block_identifier=self.w3.eth.block_number - 1)
        self.send(self.operator, self.oracle.functions.setPrice(bond, cash, price))

    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def next_nonce(self) -> int:
        self._nonce += 1
        return self._nonce

    # ------------------------------------------------------------------ members
    def fund(self, address: str, ether: int = 100) -> None:
        self.w3.eth.send_transaction(
            {"from": self.w3.eth.accounts[0], "to": address, "value": Web3.to_wei(ether, "ether")}
        )

    def verify(self, wallets: list[str], *, lei: str, jurisdiction: bytes = b"GB") -> int:
        fn = self.registry.functions.registerIdentity(
            Web3.keccak(text=lei), jurisdiction, 1, self.now() + 5 * YEAR, wallets
        )
        receipt = self.send(self.operator, fn)
        event = self.registry.events.IdentityRegistered().process_receipt(receipt, errors=DISCARD)[0]
        return int(event["args"]["identityId"])

    def balances(self, address: str) -> tuple[int, int]:
        return int(self.cash.functions.balanceOf(address).call()), int(self.bond.functions.balanceOf(address).call())

    # ------------------------------------------------------------------ repos
    def terms(self, **overrides: Any) -> eip712.RepoTerms:
        now = self.now()
        terms: dict[str, Any] = {
            "seller": self.seller.address,
            "buyer": self.buyer.address,
            "cashToken": self.cash.address,
            "purchasePrice": 1_000_000 * 10**CASH_DECIMALS,
            "rate": 35 * 10**15,  # 3.5 % a year
            "dayCountBasis": 360,
            "startTime": now,
            "maturity": now + 7 * 86_400,
            "noticePeriod": 0,
            "collateralToken": self.bond.address,
            "collateralAmount": 1_050_000 * 10**BOND_DECIMALS,
            "haircutBps": 200,
            "minTransferAmount": 1_000 * 10**CASH_DECIMALS,
            "marginCurePeriod": 86_400,
            "gracePeriod": 86_400,
            "nonce": self.next_nonce(),
            "deadline": now + 3_600,
        }
        terms.update(overrides)
        return terms  # type: ignore[return-value]

    def sign(self, account: LocalAccount, primary_type: str, message: dict[str, Any]) -> bytes:
        doc = eip712.typed_data(primary_type, message, chain_id=self.chain_id(), engine=self.engine.address)
        return bytes(account.sign_typed_data(full_message=doc).signature)

    def terms_tuple(self, terms: eip712.RepoTerms) -> tuple[Any, ...]:
        return tuple(terms[f["name"]] for f in eip712.REPO_TERMS)  # type: ignore[literal-required]

    def open(
        self,
        terms: eip712.RepoTerms,
        *,
        seller_key: LocalAccount | None = None,
        buyer_key: LocalAccount | None = None,
        step: str = "",
    ) -> int:
        """Both parties sign; the keeper (any account) submits. Returns the repo id."""
        seller_sig = self.sign(seller_key or self.seller, "RepoTerms", dict(terms))
        buyer_sig = self.sign(buyer_key or self.buyer, "RepoTerms", dict(terms))
        fn = self.engine.functions.open(self.terms_tuple(terms), seller_sig, buyer_sig)
        receipt = self.send(self.keeper, fn, step)
        event = self.engine.events.RepoOpened().process_receipt(receipt, errors=DISCARD)[0]
        return int(event["args"]["repoId"])


def build_system() -> RepoSystem:
    """Deploy everything on a fresh in-process chain and set up two funded, verified, approved members."""
    tester = EthereumTester(PyEVMBackend())
    w3 = Web3(EthereumTesterProvider(tester))
    operator, seller, buyer, keeper = (Account.from_key(os.urandom(32)) for _ in range(4))
    for acct in (operator, seller, buyer, keeper):
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": acct.address, "value": Web3.to_wei(1000, "ether")})

    addrs = deploy_system(w3, operator)
    cash_addr = deploy_cash_token(
        w3,
        operator,
        registry=addrs.identity_registry,
        name="EUR Deposit Token",
        symbol="EURD",
        currency="EUR",
        decimals=CASH_DECIMALS,
    )
    set_currency(w3, operator, oracle=addrs.price_oracle, token=cash_addr)
    now = int(w3.eth.get_block("latest")["timestamp"])
    bond_addr = deploy_bond_token(
        w3,
        operator,
        registry=addrs.identity_registry,
        name="Bund 2.5% 2035",
        symbol="DBR35",
        isin="DE0001102580",
        decimals=BOND_DECIMALS,
        coupon_rate=25 * 10**15,
        maturity=now + 10 * YEAR,
    )
    list_tokens(w3, operator, engine=addrs.repo_engine, tokens=[cash_addr, bond_addr])
    system = RepoSystem(
        tester=tester,
        w3=w3,
        operator=operator,
        seller=seller,
        buyer=buyer,
        keeper=keeper,
        addresses={**addrs.as_dict(), "cash": cash_addr, "bond": bond_addr},
        cash=contract(w3, "CashToken", cash_addr),
        bond=contract(w3, "BondToken", bond_addr),
        engine=contract(w3, "RepoEngine", addrs.repo_engine),
        registry=contract(w3, "IdentityRegistry", addrs.identity_registry),
        oracle=contract(w3, "PriceOracle", addrs.price_oracle),
        position=contract(w3, "RepoPosition", addrs.repo_position),
    )
    set_currency(w3, operator, oracle=addrs.price_oracle, token=bond_addr, currency=cash_addr)  # priced in EUR
    system.verify([seller.address], lei="BANKSELLER0000000001")
    system.verify([buyer.address], lei="FUNDBUYER00000000002")
    system.send(operator, system.cash.functions.mint(buyer.address, 50_000_000 * 10**CASH_DECIMALS))
    system.send(operator, system.bond.functions.mint(seller.address, 50_000_000 * 10**BOND_DECIMALS))
    system.send(operator, system.cash.functions.mint(seller.address, 1_000_000 * 10**CASH_DECIMALS))  # for interest
    for member in (seller, buyer):
        system.send(member, system.cash.functions.approve(addrs.repo_engine, 2**256 - 1))
        system.send(member, system.bond.functions.approve(addrs.repo_engine, 2**256 - 1))
    system.send(operator, system.oracle.functions.setPrice(bond_addr, cash_addr, PAR_PRICE_98))
    return system
