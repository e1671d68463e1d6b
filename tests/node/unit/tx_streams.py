"""Seeded random transaction streams for the differential test of the node's execution (``random_stream``).

Every transaction is valid (nonce, funds, intrinsic gas, block gas), so a block build must include them all; what
they do varies: value transfers to senders, fresh and precompile addresses and the coinbase (zero-value ones touch
empty accounts, which EIP-161 deletes), ERC-20 transfers, approvals and transfers from (some revert on balance or
allowance, some run out of gas), contract creations that succeed, revert, return nothing, run out of gas or
self-destruct in their own transaction, calls that revert with a reason or a custom error, clear storage (a refund),
forward a nested call, hash in a loop, and a contract that self-destructs when called. Legacy, access-list and
dynamic-fee transactions, with tips that pay the coinbase.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth._utils.address import generate_contract_address
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_canonical_address, to_checksum_address
from web3 import Web3

from node.intrinsic import intrinsic_gas
from scripts.harness.chains import load_contracts
from tests.node.unit.repo_stream import RepoWorld, open_call, repurchase_call, setup_transactions

CHAIN_ID = 1337
GENESIS_TIME = 1_700_000_000
GAS_LIMIT = 60_000_000
BLOCK_GAS = 30_000_000  # the stream's declared gas per block: half the limit, so nothing is ever deferred
SENDERS = 5
SENDER_BALANCE = 10**24
# initcodes: revert at once; return no code; hit an invalid opcode; self-destruct to the caller during creation
# (after writing storage, too);
# deploy code that self-destructs to its caller when called (PUSH2 0x33ff, MSTORE, RETURN the last two bytes)
INITCODE_REVERT = "0x60006000fd"
INITCODE_EMPTY = "0x6001600101"
INITCODE_INVALID = "0xfe"
INITCODE_SELFDESTRUCT = "0x33ff"
INITCODE_STORE_SELFDESTRUCT = "0x600160005533ff"  # SSTORE(0, 1), then self-destruct: the new storage goes too
INITCODE_DESTRUCTIBLE = "0x6133ff6000526002601ef3"
PRECOMPILES = [to_checksum_address(bytes(19) + bytes([i])) for i in (1, 2, 3, 4, 5, 9)]


@dataclass
class Stream:
    """Genesis balances, then blocks of raw signed transactions, each with a label saying what it does."""

    seed: int
    balances: dict[bytes, int]
    blocks: list[list[bytes]] = field(default_factory=list)
    labels: list[list[str]] = field(default_factory=list)


@dataclass
class _World:
    """What the generator knows of the chain it writes for: nonces, and the contracts it created."""

    rng: random.Random
    senders: list[LocalAccount]
    coinbase: str
    nonces: dict[str, int] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)
    reverters: list[str] = field(default_factory=list)
    heavies: list[str] = field(default_factory=list)
    destructibles: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)
    repo: RepoWorld | None = None

    def recipient(self) -> str:
        rng = self.rng
        pick = rng.random()
        if pick < 0.3 or not self.fresh:
            self.fresh.append(to_checksum_address(rng.randbytes(20)))
            return self.fresh[-1]
        if pick < 0.55:
            return rng.choice(self.fresh)
        if pick < 0.8:
            return rng.choice(self.senders).address
        if pick < 0.9:
            return rng.choice(PRECOMPILES)
        return self.coinbase


_CONTRACTS = load_contracts()
_W3 = Web3()


def _abi(name: str) -> Any:
    return _W3.eth.contract(abi=_CONTRACTS[name]["abi"])


TOKEN, REVERTER, HEAVY = _abi("TestToken"), _abi("Reverter"), _abi("Heavy")
Kind = Callable[[_World, LocalAccount], tuple[str, str | None, str, int, int]]  # label, to, data, value, gas


def _value_transfer(w: _World, s: LocalAccount) -> tuple[str, str | None, str, int, int]:
    value = w.rng.choice([0, 0, 1, w.rng.randrange(10**18)])
    to = w.recipient()
    data = "0x" + w.rng.randbytes(w.rng.choice([0, 0, 4, 40])).hex() if to in PRECOMPILES else "0x"
    return f"value {value} to {to[:8]}", to, data, value, 21_000 if data == "0x" else 80_000


def _deploy(w: _World, s: LocalAccount) -> tuple[str, str | None, str, int, int]:
    created = to_checksum_address(generate_contract_address(to_canonical_address(s.address), w.nonces[s.address]))
    pick = w.rng.randrange(11)
    if pick < 3:
        if pick:  # pick 0 runs out of gas: no token there
            w.tokens.append(created)
        supply = w.rng.choice([10**30, w.rng.randrange(1, 10**6)])
        code = _CONTRACTS["TestToken"]["bytecode"] + abi_encode(["uint256"], [supply]).hex()
        return "create token", None, code, 0, 1_500_000 if pick else 60_000  # pick 0: out of gas, no code
    if pick == 3:
        w.reverters.append(created)
        return "create reverter", None, _CONTRACTS["Reverter"]["bytecode"], 0, 1_500_000
    if pick == 4:
        w.heavies.append(created)
        return "create heavy", None, _CONTRACTS["Heavy"]["bytecode"], 0, 1_500_000
    if pick == 5:
        w.destructibles.append(created)
        return "create destructible", None, INITCODE_DESTRUCTIBLE, w.rng.choice([0, 5]), 100_000
    raw = [INITCODE_REVERT, INITCODE_EMPTY, INITCODE_INVALID, INITCODE_SELFDESTRUCT, INITCODE_STORE_SELFDESTRUCT]
    code = raw[pick - 6]
    return f"create raw {code}", None, code, w.rng.choice([0, 3]), 100_000


def _erc20(w: _World, s: LocalAccount) -> tuple[str, str | None, str, int, int]:
    if not w.tokens:
        return _deploy(w, s)
    token = w.rng.choice(w.tokens)
    amount = w.rng.choice([0, 1, w.rng.randrange(10**20), 10**31])  # 10**31: more than any supply, reverts
    pick = w.rng.random()
    if pick < 0.6:
        data = TOKEN.encode_abi("transfer", args=[w.recipient(), amount])
        gas = 30_000 if w.rng.random() < 0.1 else 120_000  # 30,000: out of gas after the intrinsic
        return f"erc20 transfer {amount}", token, data, 0, gas
    if pick < 0.8:
        return "erc20 approve", token, TOKEN.encode_abi("approve", args=[w.recipient(), amount]), 0, 120_000
    owner = w.rng.choice(w.senders).address
    data = TOKEN.encode_abi("transferFrom", args=[owner, w.recipient(), amount])
    return f"erc20 transferFrom {amount}", token, data, 0, 150_000


def _reverter(w: _World, s: LocalAccount) -> tuple[str, str | None, str, int, int]:
    if not w.reverters:
        return _deploy(w, s)
    target = w.rng.choice(w.reverters)
    pick = w.rng.randrange(6)
    if pick == 0:
        value = w.rng.choice([0, 7, w.rng.randrange(2**256)])  # 0 clears the slot: a refund
        return f"reverter store {value}", target, REVERTER.encode_abi("store", args=[value]), 0, 100_000
    if pick == 1:
        return "reverter failCustom", target, REVERTER.encode_abi("failCustom", args=[w.rng.randrange(99)]), 0, 60_000
    if pick == 2:
        return "reverter failReason", target, REVERTER.encode_abi("failReason"), 0, 60_000
    if pick == 3:
        value = w.rng.choice([0, 1])
        return f"reverter failIfZero {value}", target, REVERTER.encode_abi("failIfZero", args=[value]), 0, 60_000
    if pick == 4 and w.tokens:
        token = w.rng.choice(w.tokens)
        amount = w.rng.choice([0, 1, 10**31])
        data = REVERTER.encode_abi("forward", args=[token, w.recipient(), amount])
        return f"reverter forward {amount}", target, data, 0, 200_000
    return "reverter with value (no receive: reverts)", target, "0x", 1, 60_000


def _heavy(w: _World, s: LocalAccount) -> tuple[str, str | None, str, int, int]:
    if not w.heavies:
        return _deploy(w, s)
    rounds = w.rng.randint(0, 6)
    return f"heavy work {rounds}", w.rng.choice(w.heavies), HEAVY.encode_abi("work", args=[rounds]), 0, 400_000


def _destructible(w: _World, s: LocalAccount) -> tuple[str, str | None, str, int, int]:
    if not w.destructibles:
        return _deploy(w, s)
    return "call destructible", w.rng.choice(w.destructibles), "0x", w.rng.choice([0, 9]), 60_000


def _repo(w: _World, s: LocalAccount) -> tuple[str, str | None, str, int, int]:
    if w.repo is None:
        return _value_transfer(w, s)
    if s.address == w.repo.seller.address and w.repo.opened and w.rng.random() < 0.5:
        label, data, gas = repurchase_call(w.repo, w.rng.randint(1, w.repo.opened + 1))
    else:
        price = w.rng.choice([1_000, 250_000, 10**16])  # 10**16: more than the buyer's cash, reverts
        label, data, gas = open_call(w.repo, w.rng.random(), w.rng.random() < 0.5, price)
    return label, w.repo.engine, data, 0, gas


KINDS: list[tuple[Kind, int]] = [
    (_repo, 3),
    (_value_transfer, 5),
    (_erc20, 8),
    (_deploy, 2),
    (_reverter, 3),
    (_heavy, 2),
    (_destructible, 1),
]


def _sign(w: _World, sender: LocalAccount, to: str | None, data: str, value: int, gas: int) -> bytes:
    rng = w.rng
    tx: dict[str, Any] = {"chainId": CHAIN_ID, "nonce": w.nonces[sender.address], "gas": gas, "value": value}
    tx["data"] = data
    if to is not None:
        tx["to"] = to
    kind = rng.choice([0, 1, 2, 2, 2])
    if kind == 2:
        tx.update(type=2, maxFeePerGas=rng.choice([0, 10**9, 2 * 10**9]))
        tx["maxPriorityFeePerGas"] = rng.choice([0, tx["maxFeePerGas"] // 2, tx["maxFeePerGas"]])
    else:
        tx["gasPrice"] = rng.choice([0, 10**9])
    if kind in (1, 2) and rng.random() < 0.3:
        touched = to or w.coinbase
        tx["accessList"] = [{"address": touched, "storageKeys": ["0x" + rng.randbytes(32).hex()]}]
        tx["gas"] += 2_400 + 1_900
        if kind == 1:
            tx["type"] = 1
    # a gas limit below the intrinsic gas (a big initcode's EIP-7623 floor) becomes a little above it: the
    # transaction is valid and runs out of gas in execution
    access = tuple((bytes.fromhex(a["address"][2:]), (0,)) for a in tx.get("accessList", []))
    minimum = intrinsic_gas(bytes.fromhex(data[2:]), to is None, access).minimum
    if tx["gas"] < minimum:
        tx["gas"] = minimum + 5_000
    w.nonces[sender.address] += 1
    return bytes(sender.sign_transaction(tx).raw_transaction)


def random_stream(seed: int, coinbase: bytes, blocks: int = 4, per_block: int = 30) -> Stream:
    """``blocks`` blocks of ``per_block`` transactions from five funded senders, the same for the same seed."""
    rng = random.Random(seed)
    senders = [Account.from_key(keccak(text=f"reponet-differential-{seed}-{i}")) for i in range(SENDERS)]
    world = _World(rng, senders, to_checksum_address(coinbase), nonces={s.address: 0 for s in senders})
    stream = Stream(seed, {bytes(to_canonical_address(s.address)): SENDER_BALANCE for s in senders})
    operator = Account.from_key(keccak(text=f"reponet-differential-{seed}-operator"))
    stream.balances[bytes(to_canonical_address(operator.address))] = SENDER_BALANCE
    world.nonces[operator.address] = 0
    world.repo = RepoWorld(CHAIN_ID, GENESIS_TIME, operator, seller=senders[0], buyer=senders[1])
    _repo_setup(world, stream)
    kinds, weights = zip(*KINDS, strict=True)
    for _ in range(blocks):
        raws: list[bytes] = []
        labels: list[str] = []
        declared = 0
        while len(raws) < per_block:
            sender = rng.choice(senders)
            label, to, data, value, gas = rng.choices(kinds, weights)[0](world, sender)
            if declared + gas + 4_300 > BLOCK_GAS:
                break
            raw = _sign(world, sender, to, data, value, gas)
            declared += gas + 4_300
            raws.append(raw)
            labels.append(label)
        stream.blocks.append(raws)
        stream.labels.append(labels)
    return stream


def _repo_setup(world: _World, stream: Stream) -> None:
    """The repo system's deployment, wiring and the members' approvals, in blocks of their own."""
    assert world.repo is not None
    raws: list[bytes] = []
    labels: list[str] = []
    declared = 0
    for label, to, data, gas in setup_transactions(world.repo, 0):
        who = {"seller": world.repo.seller, "buyer": world.repo.buyer}.get(label.split()[0], world.repo.operator)
        if declared + gas + 4_300 > 2 * BLOCK_GAS - 4_000_000:
            stream.blocks.append(raws)
            stream.labels.append(labels)
            raws, labels, declared = [], [], 0
        raws.append(_sign(world, who, to, data, 0, gas))
        labels.append(label)
        declared += gas + 4_300
    stream.blocks.append(raws)
    stream.labels.append(labels)
