"""node.evm_paths: the cheaper paths give py-evm's results exactly.

The jump-destination facts kept across messages answer as py-evm's per-message analysis does, at every position and
in any order of asking; the executor without the eager debug line gives the same state roots, gas, outputs and
errors as Prague's own on deployments, calls that loop on JUMPs, transfers and reverts.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth.abc import SignedTransactionAPI
from eth.constants import BLANK_ROOT_HASH, ZERO_HASH32
from eth.db.atomic import AtomicDB
from eth.vm.code_stream import CodeStream
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.state import PragueState
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_typing import Address, BlockNumber, Hash32
from eth_utils import keccak, to_canonical_address
from web3 import Web3

from node.evm_paths import NodeCodeStream, NodeComputation, NodeTransactionExecutor, _facts_of
from node.execution import NodeAccountDB
from scripts.harness.chains import load_contracts

CHAIN_ID = 1337
KEY = keccak(text="reponet-evm-paths")


def _code(rng: random.Random) -> bytes:
    """Code dense in PUSHes (PUSH1..PUSH32 and their data), JUMPDESTs and bytes that look like either."""
    out = bytearray()
    while len(out) < rng.randint(1, 300):
        op = rng.choice([0x5B, 0x56, 0x57, 0x00, rng.randint(0x60, 0x7F), rng.randint(0x60, 0x7F), rng.randrange(256)])
        out.append(op)
        if 0x60 <= op <= 0x7F and rng.random() < 0.8:
            out += bytes(rng.choice([0x5B, 0x60, 0x7F, rng.randrange(256)]) for _ in range(op - 0x5F))
    return bytes(out)


@pytest.mark.parametrize("seed", range(30))
def test_kept_facts_answer_as_py_evm_does(seed: int) -> None:
    rng = random.Random(seed)
    code = _code(rng) + bytes([seed])  # distinct from other seeds' codes, so each test starts with no facts
    positions = list(range(len(code) + 40))
    expected = [CodeStream(code).is_valid_opcode(p) for p in positions]
    for _ in range(4):  # several messages on the same code, each asking in its own order
        stream = NodeCodeStream(code)
        order = rng.sample(positions, len(positions))
        answers = {p: stream.is_valid_opcode(p) for p in order}
        assert [answers[p] for p in positions] == expected
    assert all(_facts_of(code)), "every position of the code is known after the first message"


def test_facts_are_kept_per_code_not_per_stream() -> None:
    code = bytes([0x60, 0x5B, 0x5B, 0x7F]) + bytes([0x5B]) * 32 + bytes([0x5B])
    NodeCodeStream(code).is_valid_opcode(2)
    assert _facts_of(code)[2] != 0
    fresh = NodeCodeStream(code)
    assert fresh.is_valid_opcode(1) is False  # PUSH1's data
    assert fresh.is_valid_opcode(2) is True
    assert fresh.is_valid_opcode(20) is False  # inside PUSH32's data
    assert fresh.is_valid_opcode(36) is True


class StockAccountsState(PragueState):
    """Prague's own computation and executor, on the node's account database (tested on its own elsewhere)."""

    account_db_class = NodeAccountDB


class PathsState(StockAccountsState):
    computation_class = NodeComputation
    transaction_executor_class = NodeTransactionExecutor


def _context() -> ExecutionContext:
    return ExecutionContext(
        coinbase=Address(b"\x11" * 20),
        timestamp=1_700_000_000,
        block_number=BlockNumber(1),
        difficulty=0,
        mix_hash=ZERO_HASH32,
        gas_limit=60_000_000,
        prev_hashes=(),
        chain_id=CHAIN_ID,
        base_fee_per_gas=0,
        excess_blob_gas=0,
    )


def _transactions() -> list[SignedTransactionAPI]:
    sender = Account.from_key(KEY)
    contracts = load_contracts()
    w3 = Web3()
    token_address = Web3.to_checksum_address(keccak(b"\xd6\x94" + to_canonical_address(sender.address) + b"\x80")[12:])
    heavy_address = Web3.to_checksum_address(keccak(b"\xd6\x94" + to_canonical_address(sender.address) + b"\x01")[12:])
    token = w3.eth.contract(address=token_address, abi=contracts["TestToken"]["abi"])
    heavy = w3.eth.contract(address=heavy_address, abi=contracts["Heavy"]["abi"])
    calls: list[tuple[str | None, str, int, int]] = [
        (None, contracts["TestToken"]["bytecode"] + abi_encode(["uint256"], [10**30]).hex(), 0, 3_000_000),
        (None, contracts["Heavy"]["bytecode"], 0, 3_000_000),
        (token_address, token.encode_abi("transfer", args=["0x" + "42" * 20, 5]), 0, 100_000),
        (heavy_address, heavy.encode_abi("work", args=[8]), 0, 1_000_000),
        (heavy_address, heavy.encode_abi("work", args=[24]), 0, 2_000_000),
        (token_address, token.encode_abi("transfer", args=["0x" + "42" * 20, 10**31]), 0, 100_000),  # reverts
        ("0x" + "43" * 20, "0x", 10**18, 21_000),
        (heavy_address, heavy.encode_abi("work", args=[8]), 0, 30_000),  # out of gas
        (None, "0x6001600101", 0, 100_000),  # creation whose initcode returns nothing
    ]
    builder = PragueVM.get_transaction_builder()
    txs = []
    for nonce, (to, data, value, gas) in enumerate(calls):
        fields: dict[str, Any] = {
            "type": 2,
            "chainId": CHAIN_ID,
            "nonce": nonce,
            "gas": gas,
            "value": value,
            "data": data,
            "maxFeePerGas": 10**9,
            "maxPriorityFeePerGas": 10**8,
        }
        if to is not None:
            fields["to"] = to
        txs.append(builder.decode(bytes(sender.sign_transaction(fields).raw_transaction)))
    return txs


def _run(state_class: type[PragueState]) -> list[tuple[bool, int, bytes, bytes]]:
    state = state_class(AtomicDB(), _context(), Hash32(BLANK_ROOT_HASH))
    state.set_balance(Address(to_canonical_address(Account.from_key(KEY).address)), 10**24)
    results: list[tuple[bool, int, bytes, bytes]] = []
    for tx in _transactions():
        computation = state.apply_transaction(tx)
        state.lock_changes()
        results.append((computation.is_error, computation.get_gas_used(), computation.output, state.make_state_root()))
    return results


def test_executor_and_computation_give_prague_results() -> None:
    expected = _run(StockAccountsState)
    assert [error for error, *_ in expected] == [False, False, False, False, False, True, False, True, False]
    assert _run(PathsState) == expected
