"""The block builder and the importer check intrinsic gas with the pool's own function (node.intrinsic): a transaction
that reaches them without passing the pool (a peer's block, a pool of an older version) and whose gas is below the
EIP-7623 floor or the access-list cost is dropped by the builder and makes an imported block invalid.

Before, py-evm executed a transaction below the floor and charged it more gas than its limit."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from eth.abc import SignedTransactionAPI
from eth_keys.datatypes import PrivateKey

from node.devchain import dev_accounts, dev_genesis
from node.exceptions import InvalidBlock
from node.genesis import Genesis
from node.qbft_extra import QbftExtraData
from node.txpool import cache_sender, decode_raw_transaction, recover_sender
from scripts.harness.node_process import DEV_KEYS, sign
from tests.node.unit.test_import_block import make_chain

RECIPIENT = "0x" + "42" * 20


def tx(**fields: Any) -> SignedTransactionAPI:
    decoded = decode_raw_transaction(bytes.fromhex(sign(DEV_KEYS[0], to=RECIPIENT, **fields)[2:]))
    cache_sender(decoded, recover_sender(decoded))
    return decoded


def test_builder_drops_and_importer_refuses_what_the_pool_would(tmp_path: Path) -> None:
    key = PrivateKey(os.urandom(32))
    validator = bytes(key.public_key.to_canonical_address())
    base = dev_genesis(1337, dev_accounts(3), 0)
    genesis = Genesis(**{**base.__dict__, "extra_data": QbftExtraData(validators=(validator,)).encode()})
    proposer = make_chain(tmp_path / "a.sqlite", genesis, validator, key)
    follower = make_chain(tmp_path / "b.sqlite", genesis, validator, None)

    data = "0x" + "ff" * 1_000  # standard pricing 37,000; EIP-7623 floor 61,000
    below_floor = tx(nonce=0, gas=40_000, data=data)
    below_access_list = tx(nonce=0, gas=21_000, accessList=[{"address": RECIPIENT, "storageKeys": []}])
    good = tx(nonce=0, gas=61_000, data=data)
    built = proposer.build_block([below_floor, below_access_list, good], 10)

    assert [t.hash for t in built.transactions] == [good.hash]
    reasons = {t.hash: reason for t, reason in built.dropped}
    assert reasons[below_floor.hash] == "insufficient gas for floor data gas cost: gas 40000, minimum needed 61000"
    assert reasons[below_access_list.hash] == "intrinsic gas too low"
    assert built.receipts[0].gas_used == 61_000

    with pytest.raises(InvalidBlock, match="cannot be included"):
        follower.import_block(built.header, [below_floor])
    follower.import_block(built.header, built.transactions)
    assert follower.head.hash == proposer.head.hash
