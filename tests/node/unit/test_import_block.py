"""A block sealed by one node is verified and imported by another (the follower path QBFT builds on)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from eth_keys.datatypes import PrivateKey

from node.chain import Chain, initialize_chain
from node.consensus import SealError, SingleValidatorConsensus
from node.devchain import dev_accounts, dev_genesis
from node.exceptions import InvalidBlock
from node.genesis import Genesis
from node.headers import copy_header
from node.permissioning import AccountPermissioner
from node.qbft_extra import QbftExtraData
from node.storage import ChainStore
from node.txpool import cache_sender, decode_raw_transaction, recover_sender
from scripts.harness.node_process import DEV_KEYS, sign


def make_chain(path: Path, genesis: Genesis, validator: bytes, key: PrivateKey | None) -> Chain:
    store = ChainStore(path)
    initialize_chain(store, genesis, (validator,))
    allowed = {bytes.fromhex(a.address[2:]) for a in dev_accounts(3)}
    return Chain(store, SingleValidatorConsensus(key), AccountPermissioner(allowed, None))


def test_follower_imports_and_verifies(tmp_path: Path) -> None:
    key = PrivateKey(os.urandom(32))
    validator = bytes(key.public_key.to_canonical_address())
    base = dev_genesis(1337, dev_accounts(3), 0)
    genesis = Genesis(**{**base.__dict__, "extra_data": QbftExtraData(validators=(validator,)).encode()})
    proposer = make_chain(tmp_path / "a.sqlite", genesis, validator, key)
    follower = make_chain(tmp_path / "b.sqlite", genesis, validator, None)
    assert proposer.head.hash == follower.head.hash

    txs = []
    for nonce in range(3):
        tx = decode_raw_transaction(
            bytes.fromhex(sign(DEV_KEYS[0], nonce=nonce, to="0x" + "42" * 20, gas=21000, value=1)[2:])
        )
        cache_sender(tx, recover_sender(tx))
        txs.append(tx)
    built = proposer.build_block(txs, 10)

    with pytest.raises(SealError):  # any change to the header breaks the seal
        follower.import_block(copy_header(built.header, state_root=b"\x01" * 32), built.transactions)
    unsealed = copy_header(built.header, extra_data=QbftExtraData(validators=(validator,)).encode())
    resealed = SingleValidatorConsensus(key).seal(copy_header(unsealed, state_root=b"\x01" * 32))
    with pytest.raises(InvalidBlock, match="different roots"):  # sealed by the validator, but wrong
        follower.import_block(resealed, built.transactions)
    with pytest.raises(InvalidBlock):
        follower.import_block(built.header, built.transactions[:2])
    with pytest.raises(SealError):
        follower.import_block(unsealed, built.transactions)

    follower.import_block(built.header, built.transactions)
    assert follower.head.hash == proposer.head.hash
    assert follower.head.state_root == proposer.head.state_root
    assert follower.store.tx_location(txs[2].hash) == (1, 2)
