"""Building a block on a validated, uncommitted candidate gives the block that building after its commit gives."""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

import pytest
from eth._utils.address import generate_contract_address
from eth.abc import SignedTransactionAPI
from eth_keys.datatypes import PrivateKey
from eth_typing import Address

from node.chain import initialize_chain
from node.consensus import SingleValidatorConsensus, committed_seal
from node.devchain import dev_accounts, dev_genesis
from node.exceptions import InvalidBlock
from node.genesis import Genesis
from node.permissioning import AccountPermissioner
from node.qbft.chain import Candidate, QbftChain
from node.qbft_extra import QbftExtraData
from node.storage import ChainStore
from node.txpool import cache_sender, decode_raw_transaction, recover_sender
from scripts.harness.node_process import DEV_KEYS, address_of, sign

# stores BLOCKHASH(NUMBER - 1) in slot 0: the hash of the parent, which is not in the store when building ahead
RUNTIME = bytes.fromhex("6001430340600055" + "00")
INIT = bytes.fromhex("6009600c600039" + "60096000f3") + RUNTIME


def _tx(raw: str) -> SignedTransactionAPI:
    tx = decode_raw_transaction(bytes.fromhex(raw[2:]))
    cache_sender(tx, recover_sender(tx))
    return tx


def _chain(path: Path, genesis: Genesis, key: PrivateKey) -> QbftChain:
    store = ChainStore(path)
    validator = bytes(key.public_key.to_canonical_address())
    initialize_chain(store, genesis, (validator,))
    allowed = {bytes.fromhex(a.address[2:]) for a in dev_accounts(3)}
    return QbftChain(store, SingleValidatorConsensus(key), AccountPermissioner(allowed, None))


def _commit(chain: QbftChain, candidate: Candidate, key: PrivateKey) -> None:
    chain.commit_candidate(candidate, (committed_seal(candidate.built.header, key),))


def test_block_built_ahead_equals_block_built_after_commit(tmp_path: Path) -> None:
    key = PrivateKey(os.urandom(32))
    validator = bytes(key.public_key.to_canonical_address())
    extra = QbftExtraData(validators=(validator,)).encode()
    base = dev_genesis(1337, dev_accounts(3), 0)
    genesis = Genesis(**{**base.__dict__, "extra_data": extra})
    sender = bytes.fromhex(address_of(DEV_KEYS[0])[2:])
    contract = generate_contract_address(cast(Address, sender), 0)
    first = [_tx(sign(DEV_KEYS[0], nonce=0, to=None, data="0x" + INIT.hex()))]
    first += [_tx(sign(DEV_KEYS[1], nonce=n, to="0x" + "42" * 20, gas=21000, value=1)) for n in range(3)]
    second = [_tx(sign(DEV_KEYS[0], nonce=1, to="0x" + contract.hex()))]
    second += [_tx(sign(DEV_KEYS[1], nonce=n, to="0x" + "42" * 20, gas=21000, value=1)) for n in range(3, 6)]

    ahead = _chain(tmp_path / "ahead.sqlite", genesis, key)
    parent = ahead.build_candidate(first, 10, validator, extra)
    child = ahead.build_candidate_on(parent, second, 11, validator, extra)
    assert not child.built.dropped and len(child.built.transactions) == 4
    with pytest.raises(InvalidBlock):  # proposable only once its parent is the head
        _commit(ahead, child, key)
    _commit(ahead, parent, key)
    _commit(ahead, child, key)

    after = _chain(tmp_path / "after.sqlite", genesis, key)
    _commit(after, after.build_candidate(first, 10, validator, extra), key)
    _commit(after, after.build_candidate(second, 11, validator, extra), key)

    assert ahead.head.hash == after.head.hash
    assert ahead.head.state_root == after.head.state_root
    block_1 = ahead.store.header_by_number(1)
    assert block_1 is not None
    stored = ahead.state_at(ahead.head).get_storage(cast(Address, contract), 0)
    assert stored.to_bytes(32, "big") == block_1.hash
