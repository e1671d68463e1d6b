"""The transactions ``scripts/bench_network.py`` offers a network: value transfers, ERC-20 transfers and repo opens.

Each workload is set up once on a running chain (over JSON-RPC, as any client would), then pre-signs as many
transactions as a measurement needs, at zero gas price from the benchmark's allowlisted senders (the nonces are the
caller's, so several measurements follow each other on one chain):

- ``value``: transfers of value 0 to one address (no contract code; what the network benchmark always measured);
- ``erc20``: ``TestToken.transfer`` of the node fixtures (two storage writes and an event), after one sender deploys
  the token and gives every sender a balance;
- ``open``: ``RepoEngine.open`` of the real engine, both parties' EIP-712 signatures on fresh terms each time,
  submitted by the senders as keepers, after the whole system is deployed (``contracts.deploy``) and two verified
  members are funded and have approved the engine.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_canonical_address, to_checksum_address
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

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
from scripts.harness.chains import Rpc, load_contracts

WORKLOADS = ("value", "erc20", "open")
RECIPIENT = "0x000000000000000000000000000000000000dEaD"
TRANSFER_GAS = 60_000
OPEN_GAS = 1_500_000  # the limit, not the use: a block's gas limit (60M) holds 40 of them at this figure
Signed = tuple[str, str]  # (raw transaction hex, hash hex)
Presigner = Callable[[int, dict[str, int]], list[Signed]]  # (count, nonces by sender address) -> transactions


def sign(account: LocalAccount, chain_id: int, nonce: int, to: str | None, data: str, gas: int) -> Signed:
    tx: dict[str, Any] = {
        "value": 0,
        "gas": gas,
        "maxFeePerGas": 0,
        "maxPriorityFeePerGas": 0,
        "nonce": nonce,
        "chainId": chain_id,
        "type": 2,
        "data": data,
    }
    if to is not None:
        tx["to"] = to
    signed = account.sign_transaction(tx)
    return "0x" + signed.raw_transaction.hex(), "0x" + signed.hash.hex()


def _round_robin(
    accounts: list[LocalAccount], chain_id: int, to: str, gas: int, data_of: Callable[[int], str]
) -> Presigner:
    def presign(count: int, nonces: dict[str, int]) -> list[Signed]:
        out = []
        for i in range(count):
            acct = accounts[i % len(accounts)]
            out.append(sign(acct, chain_id, nonces[acct.address], to, data_of(i), gas))
            nonces[acct.address] += 1
        return out

    return presign


def value_workload(accounts: list[LocalAccount], chain_id: int) -> Presigner:
    return _round_robin(accounts, chain_id, RECIPIENT, 21_000, lambda _: "0x")


def _wait_included(rpc: Rpc, hashes: list[str], timeout: float) -> None:
    """Until every hash has a successful receipt (setup steps must all succeed)."""
    deadline = time.monotonic() + timeout
    pending = list(hashes)
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"setup: {len(pending)} transactions not included within {timeout}s")
        answers = rpc.raw([rpc.envelope("eth_getTransactionReceipt", h) for h in pending])
        done = {a["id"]: a.get("result") for a in answers}
        still = []
        for h, answer in zip(pending, answers, strict=True):
            receipt = done.get(answer["id"])
            if receipt is None:
                still.append(h)
            elif receipt["status"] != "0x1":
                raise RuntimeError(f"setup transaction {h} failed")
        pending = still
        if pending:
            time.sleep(0.1)


def erc20_workload(rpc: Rpc, accounts: list[LocalAccount], chain_id: int, nonces: dict[str, int]) -> Presigner:
    """Deploy the fixtures' TestToken from the first sender and give every sender tokens; transfers to fresh
    recipients then move one to a thousand units each (a new storage slot per recipient, as a payment makes)."""
    token_abi = load_contracts()["TestToken"]
    deployer = accounts[0]
    token = to_checksum_address(
        keccak(b"\xd6\x94" + to_canonical_address(deployer.address) + _rlp_nonce(nonces[deployer.address]))[12:]
    )
    supply = 10**30
    setup = [sign(deployer, chain_id, nonces[deployer.address], None, token_abi["bytecode"] + _uint(supply), 3_000_000)]
    nonces[deployer.address] += 1
    erc20 = Web3().eth.contract(abi=token_abi["abi"])
    for acct in accounts[1:]:
        data = erc20.encode_abi("transfer", args=[acct.address, supply // (2 * len(accounts))])
        setup.append(sign(deployer, chain_id, nonces[deployer.address], token, data, 100_000))
        nonces[deployer.address] += 1
    answers = rpc.raw([rpc.envelope("eth_sendRawTransaction", raw) for raw, _ in setup])
    if any("error" in a for a in answers):
        raise RuntimeError(f"erc20 setup refused: {answers}")
    _wait_included(rpc, [h for _, h in setup], 120)

    fresh = itertools.count()

    def data_of(i: int) -> str:
        recipient = to_checksum_address(keccak(text=f"reponet-bench-recipient-{next(fresh)}")[:20])
        return str(erc20.encode_abi("transfer", args=[recipient, 1 + i % 1000]))

    return _round_robin(accounts, chain_id, token, TRANSFER_GAS, data_of)


def _rlp_nonce(nonce: int) -> bytes:
    if nonce == 0:
        return b"\x80"
    if nonce < 0x80:
        return bytes([nonce])
    body = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
    return bytes([0x80 + len(body)]) + body


def _uint(value: int) -> str:
    return abi_encode(["uint256"], [value]).hex()


@dataclass
class RepoWorld:
    """A deployed system with two verified, funded members that approved the engine (as ``reponet up`` and the
    demo make it, without the gateway)."""

    engine: Any
    cash: str
    bond: str
    seller: LocalAccount
    buyer: LocalAccount


CASH_DECIMALS, BOND_DECIMALS = 6, 2
PAR_PRICE = 10_000 * 10**18  # 1 bond unit (0.01 nominal) = 0.01 cash = 10,000 cash smallest units


def deploy_repo_world(url: str, token: str | None, operator: LocalAccount, seller: LocalAccount,
                      buyer: LocalAccount) -> RepoWorld:  # fmt: skip
    """Deploy and wire the system over ``url``; every account must be allowed to transact (zero gas price)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    w3 = Web3(HTTPProvider(url, request_kwargs={"headers": headers, "timeout": 60}))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    addrs = deploy_system(w3, operator)
    cash = deploy_cash_token(
        w3, operator, registry=addrs.identity_registry, name="Bench EUR", symbol="BEUR", currency="EUR",
        decimals=CASH_DECIMALS,
    )  # fmt: skip
    set_currency(w3, operator, oracle=addrs.price_oracle, token=cash)
    now = int(w3.eth.get_block("latest")["timestamp"])
    bond = deploy_bond_token(
        w3, operator, registry=addrs.identity_registry, name="Bench Bund", symbol="BBND", isin="DE0001102580",
        decimals=BOND_DECIMALS, coupon_rate=25 * 10**15, maturity=now + 10 * 365 * 86_400,
    )  # fmt: skip
    set_currency(w3, operator, oracle=addrs.price_oracle, token=bond, currency=cash)
    list_tokens(w3, operator, engine=addrs.repo_engine, tokens=[cash, bond])
    registry = contract(w3, "IdentityRegistry", addrs.identity_registry)
    for lei, member in (("BENCHSELLER000000001", seller), ("BENCHBUYER0000000002", buyer)):
        fn = registry.functions.registerIdentity(Web3.keccak(text=lei), b"GB", 1, now + 365 * 86_400, [member.address])
        transact(w3, operator, fn)
    cash_token, bond_token = contract(w3, "CashToken", cash), contract(w3, "BondToken", bond)
    transact(w3, operator, cash_token.functions.mint(buyer.address, 10**15 * 10**CASH_DECIMALS))
    transact(w3, operator, bond_token.functions.mint(seller.address, 10**15 * 10**BOND_DECIMALS))
    for member in (seller, buyer):
        transact(w3, member, cash_token.functions.approve(addrs.repo_engine, 2**256 - 1))
        transact(w3, member, bond_token.functions.approve(addrs.repo_engine, 2**256 - 1))
    oracle = contract(w3, "PriceOracle", addrs.price_oracle)
    transact(w3, operator, oracle.functions.setPrice(bond, cash, PAR_PRICE))
    return RepoWorld(contract(w3, "RepoEngine", addrs.repo_engine), cash, bond, seller, buyer)


def open_workload(world: RepoWorld, keepers: list[LocalAccount], chain_id: int, now: int) -> Presigner:
    """Opens of 1,000 cash against 1,050 nominal of the bond (2% haircut), a week's term, fresh terms each."""
    engine = world.engine
    counter = itertools.count(1)

    def data_of(_: int) -> str:
        terms: dict[str, Any] = {
            "seller": world.seller.address,
            "buyer": world.buyer.address,
            "cashToken": world.cash,
            "purchasePrice": 1_000 * 10**CASH_DECIMALS,
            "rate": 35 * 10**15,
            "dayCountBasis": 360,
            "startTime": now,
            "maturity": now + 7 * 86_400,
            "noticePeriod": 0,
            "collateralToken": world.bond,
            "collateralAmount": 1_050 * 10**BOND_DECIMALS,
            "haircutBps": 200,
            "minTransferAmount": 10 * 10**CASH_DECIMALS,
            "marginCurePeriod": 86_400,
            "gracePeriod": 86_400,
            "nonce": next(counter) + now * 10**6,
            "deadline": now + 6 * 3600,
        }
        digest = eip712.digest("RepoTerms", terms, chain_id=chain_id, engine=engine.address)
        sigs = [bytes(Account.unsafe_sign_hash(digest, m.key).signature) for m in (world.seller, world.buyer)]
        fields = tuple(terms[f["name"]] for f in eip712.REPO_TERMS)
        return str(engine.encode_abi("open", args=[fields, *sigs]))

    return _round_robin(keepers, chain_id, engine.address, OPEN_GAS, data_of)
