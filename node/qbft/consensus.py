"""The multi-validator ConsensusAPI: the validator set from the vote tally, Besu's proposer rotation, and
verification that a block carries committed seals of a quorum of its validators."""

from __future__ import annotations

from eth_keys.datatypes import PrivateKey

from node import qbft_extra
from node.abc import ConsensusAPI
from node.consensus import SealError, quorum, seal_signer
from node.headers import QbftHeader
from node.qbft.votes import PendingVotes, Tally, VoteTally
from node.qbft_extra import QbftExtraData


def proposer_for(validators: tuple[bytes, ...], height: int, round_number: int) -> bytes:
    """Round-robin over the sorted set, rotating with height and round."""
    ordered = sorted(validators)
    return ordered[(height + round_number) % len(ordered)]


class QbftConsensus(ConsensusAPI):
    def __init__(self, key: PrivateKey | None, tally: VoteTally) -> None:
        self.key = key
        self._address = bytes(key.public_key.to_canonical_address()) if key is not None else None
        self.tally = tally
        self.pending_votes = PendingVotes()

    @property
    def local_address(self) -> bytes | None:
        return self._address

    def tally_after(self, header: QbftHeader) -> Tally:
        return self.tally.after(header)

    def validators_after(self, header: QbftHeader) -> tuple[bytes, ...]:
        return self.tally.after(header).validators

    def is_validator_after(self, header: QbftHeader) -> bool:
        return self._address is not None and self._address in self.validators_after(header)

    def proposer(self, parent: QbftHeader, round_number: int) -> bytes:
        return proposer_for(self.validators_after(parent), parent.block_number + 1, round_number)

    def is_local_proposer(self, parent: QbftHeader, round_number: int = 0) -> bool:
        return self._address is not None and self.proposer(parent, round_number) == self._address

    def proposal_extra_data(self, parent: QbftHeader, round_number: int = 0) -> bytes:
        tally = self.tally.after(parent)
        vote = None
        if self._address is not None:
            vote = self.pending_votes.choose(tally, self._address, parent.block_number + 1)
        return QbftExtraData(validators=tally.validators, vote=vote, round=round_number).encode()

    def seal(self, header: QbftHeader) -> QbftHeader:
        raise SealError("under QBFT a block is sealed by a quorum of COMMIT messages, not by one node")

    def verify_seals(self, header: QbftHeader, parent: QbftHeader) -> None:
        validators = self.validators_after(parent)
        extra = qbft_extra.decode(header.extra_data)
        if tuple(sorted(extra.validators)) != validators:
            raise SealError(f"block {header.block_number} names the wrong validator set")
        if bytes(header.coinbase) not in validators:
            raise SealError(f"block {header.block_number} proposed by a non-validator")
        signers = [seal_signer(header, seal) for seal in extra.seals]
        if len(set(signers)) != len(signers):
            raise SealError(f"block {header.block_number} repeats a committed seal")
        if not set(signers) <= set(validators):
            raise SealError(f"block {header.block_number} sealed by a non-validator")
        if len(signers) < quorum(len(validators)):
            raise SealError(
                f"block {header.block_number} has {len(signers)} seals, quorum is {quorum(len(validators))}"
            )
