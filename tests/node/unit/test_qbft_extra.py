"""Besu QBFT extra-data codec and committed seals (pure functions)."""

from __future__ import annotations

import os

import pytest
import rlp
from eth_keys.datatypes import PrivateKey

from node import qbft_extra
from node.consensus import SealError, SingleValidatorConsensus, committed_seal, quorum, seal_signer
from node.exceptions import GenesisError
from node.genesis import Genesis, genesis_validators
from node.headers import QbftHeader
from node.qbft_extra import QbftExtraData, Vote

VALIDATORS = (bytes.fromhex("11" * 20), bytes.fromhex("22" * 20))


def test_besu_genesis_layout() -> None:
    # Besu's genesis extra-data: 32-byte vanity, validators, empty vote list, round 0 (0x80), no seals (0xc0)
    encoded = QbftExtraData(validators=VALIDATORS).encode()
    assert encoded.hex().endswith("c080c0")
    assert rlp.decode(encoded) == [b"\x00" * 32, list(VALIDATORS), [], b"", []]


def test_round_trip_with_vote_round_and_seals() -> None:
    extra = QbftExtraData(
        validators=VALIDATORS, vote=Vote(bytes.fromhex("33" * 20), add=True), round=3, seals=(b"\x01" * 65,)
    )
    assert qbft_extra.decode(extra.encode()) == extra
    stripped = qbft_extra.decode(qbft_extra.strip_seals(extra.encode()))
    assert stripped.seals == () and stripped.round == 3 and stripped.vote == extra.vote


@pytest.mark.parametrize("data", [b"", b"\x01\x02", rlp.encode([b"x"]), rlp.encode([b"\x00" * 31, [], [], b"", []])])
def test_non_qbft_extra_data_is_refused(data: bytes) -> None:
    with pytest.raises(GenesisError):
        qbft_extra.decode(data)


def test_genesis_validators_from_extra_data_or_fallback() -> None:
    base = Genesis(
        chain_id=1, gas_limit=30_000_000, timestamp=0, extra_data=b"", alloc={}, account_rules=None, block_period=None
    )
    fallback = bytes.fromhex("44" * 20)
    assert genesis_validators(base, fallback) == (fallback,)
    with_qbft = Genesis(**{**base.__dict__, "extra_data": QbftExtraData(validators=VALIDATORS).encode()})
    assert genesis_validators(with_qbft, fallback) == VALIDATORS


def test_seal_is_excluded_from_the_hash_and_recovers_the_validator() -> None:
    key = PrivateKey(os.urandom(32))
    me = bytes(key.public_key.to_canonical_address())
    consensus = SingleValidatorConsensus(key)
    parent = QbftHeader(
        difficulty=1,
        block_number=0,
        gas_limit=30_000_000,
        timestamp=0,
        extra_data=QbftExtraData(validators=(me,)).encode(),
    )
    assert consensus.is_local_proposer(parent)
    child = QbftHeader(
        difficulty=1,
        block_number=1,
        gas_limit=30_000_000,
        timestamp=1,
        parent_hash=parent.hash,
        extra_data=consensus.proposal_extra_data(parent),
    )
    sealed = consensus.seal(child)
    assert sealed.hash == child.hash  # seals never change the block hash
    assert seal_signer(sealed, qbft_extra.decode(sealed.extra_data).seals[0]) == me
    consensus.verify_seals(sealed, parent)
    with pytest.raises(SealError):
        consensus.verify_seals(child, parent)  # no seals: no quorum
    stranger = PrivateKey(os.urandom(32))
    forged = child.copy(extra_data=QbftExtraData(validators=(me,), seals=(committed_seal(child, stranger),)).encode())
    with pytest.raises(SealError):
        consensus.verify_seals(forged, parent)


def test_quorum_is_ceil_two_thirds() -> None:
    assert [quorum(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [1, 2, 2, 3, 4, 4, 5]
