"""The repo engine in the differential streams: the system deployed and wired by raw transactions (as
``contracts.deploy`` and ``scripts/harness/repo_system.py`` do it over web3), then opens and repurchases.

The operator deploys the registry, the oracle, the engine (which deploys its position NFT), a cash token and a bond,
verifies two senders of the stream as members (the first sells, the second buys), funds them and has them approve
the engine; then an ``open`` is one of the stream's kinds: terms signed by both members (sometimes a purchase price
above the buyer's cash, a term repo or an open-ended one, or the buyer's signature from the wrong key: a revert),
and a ``repurchase`` by the seller of an open-ended repo (a term repo's reverts: not matured).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from eth._utils.address import generate_contract_address
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_canonical_address, to_checksum_address
from web3 import Web3

from contracts import eip712
from contracts.artifacts import load_artifact

CASH_DECIMALS, BOND_DECIMALS = 6, 2
PAR_PRICE = 10_000 * 10**18
YEAR = 365 * 86_400
_W3 = Web3()


def _factory(name: str) -> Any:
    artifact = load_artifact(name)
    return _W3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)


def _address(deployer: str, nonce: int) -> str:
    return to_checksum_address(generate_contract_address(to_canonical_address(deployer), nonce))


@dataclass
class RepoWorld:
    """Where the system lives and what the stream has done with it."""

    chain_id: int
    now: int
    operator: LocalAccount
    seller: LocalAccount
    buyer: LocalAccount
    engine: str = ""
    cash: str = ""
    bond: str = ""
    opened: int = 0
    nonces: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def setup_transactions(world: RepoWorld, first_nonce: int) -> list[tuple[str, str | None, str, int]]:
    """(label, to, data, gas) of the operator's deployment and wiring, from nonce ``first_nonce``; the members'
    approvals come last, as (label, to, data, gas) with the label naming the member ('seller ...'/'buyer ...')."""
    op = world.operator.address
    n = first_nonce
    registry, oracle, engine = _address(op, n), _address(op, n + 1), _address(op, n + 2)
    cash, bond = _address(op, n + 4), _address(op, n + 6)
    world.engine, world.cash, world.bond = engine, cash, bond
    reg, orc = _factory("IdentityRegistry"), _factory("PriceOracle")
    cash_c, bond_c = _factory("CashToken"), _factory("BondToken")
    big = 10**15
    txs: list[tuple[str, str | None, str, int]] = [
        ("deploy registry", None, reg.constructor(op).data_in_transaction, 8_000_000),
        ("deploy oracle", None, orc.constructor(op, 86_400).data_in_transaction, 8_000_000),
        ("deploy engine", None,
         _factory("RepoEngine").constructor(registry, oracle, op).data_in_transaction, 16_000_000),
        ("engine is a system account", registry, reg.encode_abi("setSystemAccount", args=[engine, True]), 200_000),
        ("deploy cash", None,
         cash_c.constructor("Cash", "CSH", "EUR", CASH_DECIMALS, registry, op).data_in_transaction, 8_000_000),
        ("cash currency", oracle, orc.encode_abi("setCurrency", args=[cash, cash]), 200_000),
        ("deploy bond", None, bond_c.constructor(
            "Bond", "BND", "DE0001102580", BOND_DECIMALS, 25 * 10**15, world.now + 10 * YEAR, op, registry, op
        ).data_in_transaction, 8_000_000),
        ("bond currency", oracle, orc.encode_abi("setCurrency", args=[bond, cash]), 200_000),
        ("list cash", engine, _factory("IRepoMigration").encode_abi("listToken", args=[cash]), 200_000),
        ("list bond", engine, _factory("IRepoMigration").encode_abi("listToken", args=[bond]), 200_000),
    ]  # fmt: skip
    for lei, member in (("DIFFSELLER0000000001", world.seller), ("DIFFBUYER00000000002", world.buyer)):
        args = [keccak(text=lei), b"GB", 1, world.now + YEAR, [member.address]]
        txs.append(("verify member", registry, reg.encode_abi("registerIdentity", args=args), 400_000))
    txs += [
        ("mint cash", cash, cash_c.encode_abi("mint", args=[world.buyer.address, big * 10**CASH_DECIMALS]), 200_000),
        ("mint bonds", bond, bond_c.encode_abi("mint", args=[world.seller.address, big * 10**BOND_DECIMALS]), 200_000),
        ("mint cash", cash, cash_c.encode_abi("mint", args=[world.seller.address, big * 10**CASH_DECIMALS]), 200_000),
        ("price", oracle, orc.encode_abi("setPrice", args=[bond, cash, PAR_PRICE]), 200_000),
    ]
    for member in ("seller", "buyer"):
        for token, contract in ((cash, cash_c), (bond, bond_c)):
            txs.append(
                (f"{member} approves", token, contract.encode_abi("approve", args=[engine, 2**256 - 1]), 100_000)
            )
    return txs


def open_call(world: RepoWorld, pick: float, term: bool, price_units: int) -> tuple[str, str, int]:
    """(label, data, gas) of an ``open`` with fresh terms; ``pick`` < 0.1 signs the buyer's part with the seller's
    key (reverts)."""
    engine = _factory("RepoEngine")
    terms: dict[str, Any] = {
        "seller": world.seller.address,
        "buyer": world.buyer.address,
        "cashToken": world.cash,
        "purchasePrice": price_units * 10**CASH_DECIMALS,
        "rate": 35 * 10**15,
        "dayCountBasis": 360,
        "startTime": world.now,
        "maturity": world.now + 7 * 86_400 if term else 0,
        "noticePeriod": 0 if term else 86_400,
        "collateralToken": world.bond,
        "collateralAmount": price_units * 105 * 10**BOND_DECIMALS // 100,
        "haircutBps": 200,
        "minTransferAmount": 10 * 10**CASH_DECIMALS,
        "marginCurePeriod": 86_400,
        "gracePeriod": 86_400,
        "nonce": next(world.nonces),
        "deadline": world.now + 3_600,
    }
    digest = eip712.digest("RepoTerms", terms, chain_id=world.chain_id, engine=world.engine)
    buyer_key = world.seller.key if pick < 0.1 else world.buyer.key
    sigs = [bytes(Account.unsafe_sign_hash(digest, k).signature) for k in (world.seller.key, buyer_key)]
    fields = tuple(terms[f["name"]] for f in eip712.REPO_TERMS)
    world.opened += 1
    label = f"repo open {'term' if term else 'open-ended'} {price_units}{' wrong signer' if pick < 0.1 else ''}"
    return label, str(engine.encode_abi("open", args=[fields, *sigs])), 1_500_000


def repurchase_call(world: RepoWorld, repo_id: int) -> tuple[str, str, int]:
    data = _factory("RepoEngine").encode_abi("repurchase", args=[repo_id])
    return f"repo repurchase {repo_id}", str(data), 600_000
