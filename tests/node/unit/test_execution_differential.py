"""The node's execution path against stock py-evm, block by block, on seeded random transaction streams.

The node's side is the whole path a validator runs: transactions decoded and their senders recovered as the pool
does (``node.txpool``, ``node.senders``), a block built by ``Chain.build_block`` (``apply_transactions`` on
``NodeState``: the cheaper account database, code stream and executor, the direct receipt RLP, the ordered trie),
committed to the store, read back, and imported by a second node (``Chain.import_block`` re-executes it). The stock
side is py-evm's own ``MiningChain`` with the unmodified ``PragueVM``, decoding with its own transaction builder,
in the same block environment (coinbase, timestamp, prevrandao, gas limit, zero base fee). Per block: state root,
transaction and receipt roots, gas used, bloom, every receipt's RLP and its logs must be equal.

``REPONET_DIFF_SEEDS`` (default 20) sets how many seeds run and ``REPONET_DIFF_FIRST_SEED`` (default 0) the first:
a longer search is ``REPONET_DIFF_SEEDS=500 pytest tests/node/unit/test_execution_differential.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth.abc import ReceiptAPI
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.vm.forks.prague import PragueVM
from eth_keys.datatypes import PrivateKey
from eth_utils import keccak

from node.chain import Chain, initialize_chain
from node.consensus import SingleValidatorConsensus
from node.genesis import Genesis, GenesisAccount
from node.permissioning import AccountPermissioner
from node.qbft_extra import QBFT_MIX_HASH, QbftExtraData
from node.storage import ChainStore
from node.txpool import cache_sender, decode_raw_transaction, recover_sender
from tests.node.unit.tx_streams import CHAIN_ID, GAS_LIMIT, GENESIS_TIME, Stream, random_stream

FIRST_SEED = int(os.environ.get("REPONET_DIFF_FIRST_SEED", "0"))
SEEDS = int(os.environ.get("REPONET_DIFF_SEEDS", "20"))
KEY = PrivateKey(keccak(text="reponet-differential-validator"))
VALIDATOR = bytes(KEY.public_key.to_canonical_address())
# the streams self-destruct on purpose (py-evm warns on every SELFDESTRUCT it executes)
pytestmark = pytest.mark.filterwarnings("ignore:SELFDESTRUCT opcode present:DeprecationWarning")


@dataclass(frozen=True)
class BlockFacts:
    """What both paths must agree on for one block."""

    state_root: bytes
    transaction_root: bytes
    receipt_root: bytes
    gas_used: int
    bloom: int
    receipts: tuple[bytes, ...]
    logs: tuple[tuple[tuple[bytes, tuple[int, ...], bytes], ...], ...]


def _facts(header: Any, receipts: list[ReceiptAPI] | tuple[ReceiptAPI, ...], encoded: list[bytes]) -> BlockFacts:
    return BlockFacts(
        state_root=bytes(header.state_root),
        transaction_root=bytes(header.transaction_root),
        receipt_root=bytes(header.receipt_root),
        gas_used=header.gas_used,
        bloom=header.bloom,
        receipts=tuple(encoded),
        logs=tuple(
            tuple((bytes(log.address), tuple(log.topics), bytes(log.data)) for log in receipt.logs)
            for receipt in receipts
        ),
    )


class StockChain(MiningChain):
    vm_configuration = ((0, PragueVM),)
    chain_id = CHAIN_ID


def _stock_chain(stream: Stream) -> StockChain:
    params = {
        "difficulty": 0,
        "gas_limit": GAS_LIMIT,
        "timestamp": GENESIS_TIME,
        "coinbase": b"\0" * 20,
        "extra_data": b"",
        "nonce": b"\0" * 8,
        "base_fee_per_gas": 0,
    }
    state = {address: {"balance": b, "nonce": 0, "code": b"", "storage": {}} for address, b in stream.balances.items()}
    chain: StockChain = StockChain.from_genesis(AtomicDB(), params, state)
    return chain


def _node_chain(path: Path, stream: Stream, key: PrivateKey | None) -> Chain:
    genesis = Genesis(
        chain_id=CHAIN_ID,
        gas_limit=GAS_LIMIT,
        timestamp=GENESIS_TIME,
        extra_data=QbftExtraData(validators=(VALIDATOR,)).encode(),
        alloc={address: GenesisAccount(balance=b) for address, b in stream.balances.items()},
        account_rules=None,
        block_period=None,
    )
    store = ChainStore(path)
    initialize_chain(store, genesis, (VALIDATOR,))
    chain = Chain(store, SingleValidatorConsensus(key), AccountPermissioner(set(stream.balances), None))
    chain.build_seconds = 3600.0  # execution is compared, not the builder's clock: a busy machine defers nothing
    return chain


def _first_difference(node: BlockFacts, stock: BlockFacts, labels: list[str]) -> str:
    for i, label in enumerate(labels):
        if i >= len(node.receipts) or i >= len(stock.receipts):
            return f"receipt counts differ: node {len(node.receipts)}, stock {len(stock.receipts)}"
        if node.receipts[i] != stock.receipts[i] or node.logs[i] != stock.logs[i]:
            return f"first differing receipt: tx {i} ({label}): node {node.receipts[i]!r} stock {stock.receipts[i]!r}"
    fields = [f for f in BlockFacts.__dataclass_fields__ if getattr(node, f) != getattr(stock, f)]
    return f"fields differ: {', '.join(fields)}"


def run_differential(seed: int, work: Path) -> int:
    """Run one seed's stream through both paths; returns the transactions compared. Fails on the first block
    where they differ, naming the seed, the block and the first transaction whose receipt differs."""
    stream = random_stream(seed, VALIDATOR)
    stock = _stock_chain(stream)
    proposer = _node_chain(work / f"proposer-{seed}.sqlite", stream, KEY)
    follower = _node_chain(work / f"follower-{seed}.sqlite", stream, None)
    try:
        assert proposer.head.state_root == stock.get_canonical_head().state_root, "genesis state roots differ"
        builder = PragueVM.get_transaction_builder()
        compared = 0
        for number, (raws, labels) in enumerate(zip(stream.blocks, stream.labels, strict=True), start=1):
            txs = []
            for raw in raws:
                tx = decode_raw_transaction(raw)
                cache_sender(tx, recover_sender(tx))
                txs.append(tx)
            built = proposer.build_block(txs, GENESIS_TIME + number)
            assert not built.dropped and not built.deferred, f"seed {seed} block {number}: {built.dropped[:3]}"
            stored = proposer.store.block(number)
            assert stored is not None
            node = _facts(built.header, built.receipts, built.encoded_receipts)
            from_store = _facts(stored.header, stored.receipts, [r.encode() for r in stored.receipts])
            assert from_store == node, f"seed {seed} block {number}: the store gives back other receipts"
            imported = follower.import_block(built.header, [decode_raw_transaction(raw) for raw in raws])
            assert imported.header.hash == built.header.hash

            # the block environment goes into the pending header itself: mine_all's keyword arguments reach the
            # sealed header, while the transactions run on the pending one (whose timestamp is the wall clock's)
            stock.header = stock.create_header_from_parent(
                stock.get_canonical_head(),
                coinbase=VALIDATOR,
                timestamp=built.header.timestamp,
                mix_hash=QBFT_MIX_HASH,
                gas_limit=GAS_LIMIT,
            )
            _, receipts, _ = stock.mine_all([builder.decode(raw) for raw in raws])
            stock_facts = _facts(stock.get_canonical_head(), receipts, [r.encode() for r in receipts])
            assert node == stock_facts, f"seed {seed} block {number}: {_first_difference(node, stock_facts, labels)}"
            compared += len(raws)
        return compared
    finally:
        proposer.store.close()
        follower.store.close()


@pytest.mark.parametrize("seed", range(FIRST_SEED, FIRST_SEED + SEEDS))
def test_node_execution_matches_stock_py_evm(seed: int, tmp_path: Path) -> None:
    assert run_differential(seed, tmp_path) > 0


def test_streams_are_seeded_and_varied() -> None:
    first, again, other = (random_stream(s, VALIDATOR) for s in (3, 3, 4))
    assert first.blocks == again.blocks and first.blocks != other.blocks
    labels = " ".join(label for block in first.labels for label in block)
    for kind in ("value", "erc20 transfer", "create", "reverter"):
        assert kind in labels
