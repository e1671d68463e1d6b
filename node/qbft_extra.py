"""Besu QBFT header extra-data: ``RLP[vanity32, validators, vote, round, committed seals]``.

The format is fixed from the first block so that the multi-validator consensus can take over the
chain without a format change. ``vote`` is an empty list or ``[address, 0x00 | 0xff]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import rlp
from rlp.sedes import big_endian_int

from node.exceptions import GenesisError

VANITY_LENGTH = 32
VOTE_ADD = b"\xff"
VOTE_DROP = b"\x00"
# QBFT headers carry this fixed mix hash ("Istanbul" digest) like Besu's.
QBFT_MIX_HASH = bytes.fromhex("63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365")


@dataclass(frozen=True)
class Vote:
    recipient: bytes
    add: bool


@dataclass(frozen=True)
class QbftExtraData:
    validators: tuple[bytes, ...]
    vanity: bytes = b"\x00" * VANITY_LENGTH
    vote: Vote | None = None
    round: int = 0
    seals: tuple[bytes, ...] = field(default_factory=tuple)

    def encode(self, with_seals: bool = True) -> bytes:
        vote: list[bytes] = []
        if self.vote is not None:
            vote = [self.vote.recipient, VOTE_ADD if self.vote.add else VOTE_DROP]
        seals = list(self.seals) if with_seals else []
        return bytes(rlp.encode([self.vanity, list(self.validators), vote, self.round, seals]))


def decode(data: bytes) -> QbftExtraData:
    """Parse QBFT extra-data; raises :class:`GenesisError` (a ConfigError) when it is not QBFT."""
    try:
        items = rlp.decode(data)
    except rlp.DecodingError as exc:
        raise GenesisError(f"extra-data is not RLP: {exc}") from exc
    if not isinstance(items, list) or len(items) != 5:
        raise GenesisError("extra-data is not QBFT: expected RLP[vanity, validators, vote, round, seals]")
    vanity, validators, vote, round_, seals = items
    if not isinstance(vanity, bytes) or len(vanity) != VANITY_LENGTH:
        raise GenesisError("extra-data vanity must be 32 bytes")
    if not isinstance(validators, list) or not all(isinstance(v, bytes) and len(v) == 20 for v in validators):
        raise GenesisError("extra-data validators must be 20-byte addresses")
    parsed_vote: Vote | None = None
    if isinstance(vote, list) and len(vote) == 2:
        parsed_vote = Vote(bytes(vote[0]), vote[1] == VOTE_ADD)
    elif vote not in ([], b""):
        raise GenesisError("extra-data vote must be [] or [address, 0x00|0xff]")
    round_number = big_endian_int.deserialize(round_) if round_ else 0
    if not isinstance(seals, list):
        raise GenesisError("extra-data seals must be a list")
    return QbftExtraData(
        validators=tuple(validators),
        vanity=vanity,
        vote=parsed_vote,
        round=round_number,
        seals=tuple(bytes(s) for s in seals),
    )


def strip_seals(data: bytes) -> bytes:
    """Extra-data without committed seals (what Besu hashes); non-QBFT extra-data is left as is."""
    try:
        items = rlp.decode(data)
    except rlp.DecodingError:
        return data
    if not isinstance(items, list) or len(items) != 5 or not items[4]:
        return data
    items[4] = []
    return bytes(rlp.encode(items))


__all__ = ["QBFT_MIX_HASH", "QbftExtraData", "Vote", "decode", "strip_seals"]
