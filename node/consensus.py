"""Single-validator QBFT sealing: this node proposes every block and its own committed seal is the quorum.

The header format is Besu's QBFT from block 1 (``RLP[vanity, validators, vote, round, seals]``, hash
without seals, committed seal = secp256k1 signature of that hash as ``r || s || recovery id``), so the
multi-validator engine replaces this class and nothing else.
"""

from __future__ import annotations

import math

from eth_keys.datatypes import PrivateKey, Signature

from node import qbft_extra
from node.abc import ConsensusAPI
from node.exceptions import InvalidBlock
from node.headers import QbftHeader, copy_header
from node.qbft_extra import QbftExtraData


class SealError(InvalidBlock):
    """A header's seals do not prove a quorum of validators."""


def quorum(validator_count: int) -> int:
    return math.ceil(2 * validator_count / 3)


def committed_seal(header: QbftHeader, key: PrivateKey) -> bytes:
    signature = key.sign_msg_hash(header.hash)
    r: int = signature.r
    s: int = signature.s
    v: int = signature.v
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def seal_signer(header: QbftHeader, seal: bytes) -> bytes:
    if len(seal) != 65:
        raise SealError("committed seal must be 65 bytes")
    signature = Signature(vrs=(seal[64], int.from_bytes(seal[:32], "big"), int.from_bytes(seal[32:64], "big")))
    public_key = signature.recover_public_key_from_msg_hash(header.hash)
    return bytes(public_key.to_canonical_address())


class SingleValidatorConsensus(ConsensusAPI):
    def __init__(self, key: PrivateKey | None) -> None:
        self._key = key
        self._address = bytes(key.public_key.to_canonical_address()) if key is not None else None

    @property
    def local_address(self) -> bytes | None:
        return self._address

    def validators_after(self, header: QbftHeader) -> tuple[bytes, ...]:
        return qbft_extra.decode(header.extra_data).validators

    def is_local_proposer(self, parent: QbftHeader, round_number: int = 0) -> bool:
        validators = self.validators_after(parent)
        if self._address is None or not validators:
            return False
        # Besu's round-robin: the proposer rotates with height and round over the sorted set.
        ordered = sorted(validators)
        return ordered[(parent.block_number + 1 + round_number) % len(ordered)] == self._address

    def proposal_extra_data(self, parent: QbftHeader, round_number: int = 0) -> bytes:
        return QbftExtraData(validators=self.validators_after(parent), round=round_number).encode()

    def seal(self, header: QbftHeader) -> QbftHeader:
        if self._key is None:
            raise SealError("this node has no validator key")
        extra = qbft_extra.decode(header.extra_data)
        seal = committed_seal(header, self._key)
        sealed_extra = QbftExtraData(
            validators=extra.validators, vanity=extra.vanity, vote=extra.vote, round=extra.round, seals=(seal,)
        )
        sealed = copy_header(header, extra_data=sealed_extra.encode())
        return sealed

    def verify_seals(self, header: QbftHeader, parent: QbftHeader) -> None:
        validators = set(self.validators_after(parent))
        extra = qbft_extra.decode(header.extra_data)
        signers = {seal_signer(header, seal) for seal in extra.seals}
        if not signers <= validators:
            raise SealError(f"block {header.block_number} sealed by a non-validator")
        if len(signers) < quorum(len(validators)):
            needed = quorum(len(validators))
            raise SealError(f"block {header.block_number} has {len(signers)} seals, quorum is {needed}")
